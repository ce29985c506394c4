/** The stages the ceiling covers, in pipeline order (bench/stage-work.ts). */
export const CEILING_STAGES = ['ingest', 'scoring', 'ledger-sink'] as const;
export type CeilingStage = (typeof CEILING_STAGES)[number];
