import { containsPan, luhnCheckDigit } from '../platform/pan.js';
import { GRID_SIZE, foreignMerchantCountries, placeAt, type Place } from './geo.js';
import { Random, hash32, hashHex } from './random.js';

/** Where a transaction happened; latitude/longitude are null for card-not-present merchants. */
export interface TxLocation {
  readonly country: string;
  readonly latitude: number | null;
  readonly longitude: number | null;
}

export interface CardProfile {
  /** A Luhn-valid test PAN on a public test BIN; only ever sent in the simulated HTTP body. */
  readonly number: string;
  readonly bin: string;
  readonly last4: string;
  /** The simulator's stable stand-in for ingest's keyed token (not derived from the PAN). */
  readonly token: string;
}

export interface DeviceProfile {
  readonly id: string;
  readonly ip: string;
}

export interface CustomerProfile {
  /** Dense index 0 … customers−1; the handbook CSV's CUSTOMER_ID. */
  readonly index: number;
  readonly customerId: string;
  readonly accountId: string;
  /** Grid position in [0, 100)². */
  readonly x: number;
  readonly y: number;
  /** Home, where online-banking sessions come from. */
  readonly home: TxLocation;
  readonly accountCurrency: string;
  /** Mean card amount in major units (uniform 5–100); its standard deviation is half of it. */
  readonly meanAmount: number;
  /** Mean transactions a day (uniform in [0, 2 × meanTxPerCustomerPerDay]). */
  readonly meanTxPerDay: number;
  /** Mean bank-transfer amount in major units (5–20 × meanAmount). */
  readonly transferMean: number;
  readonly cards: readonly CardProfile[];
  readonly devices: readonly DeviceProfile[];
  /** Usual external transfer beneficiaries (landlord, utilities …) and their remittance texts. */
  readonly payees: ReadonlyArray<{ readonly accountId: string; readonly remittance: string }>;
  /** Indexes of customers this one pays by P2P. */
  readonly friends: readonly number[];
}

export interface TerminalProfile {
  /** Dense index 0 … terminals−1; the handbook CSV's TERMINAL_ID. */
  readonly index: number;
  readonly terminalId: string;
  readonly merchantId: string;
  /** The merchant's settlement account, the payee of card and wallet purchases. */
  readonly payeeAccountId: string;
  /** ISO 18245 merchant category code. */
  readonly mcc: string;
  readonly x: number;
  readonly y: number;
  /** False for e-commerce (card-not-present) merchants. */
  readonly cardPresent: boolean;
  readonly currency: string;
  readonly location: TxLocation;
}

export interface CashPointProfile {
  readonly index: number;
  readonly terminalId: string;
  /** The bank's cash account at this ATM or branch. */
  readonly accountId: string;
  /** Branches take cash deposits; every cash point dispenses cash. */
  readonly branch: boolean;
  readonly location: TxLocation;
  readonly x: number;
  readonly y: number;
}

export interface PopulationOptions {
  readonly seed: number;
  readonly customers: number;
  readonly terminals: number;
  readonly meanTxPerCustomerPerDay: number;
  /** Account-currency weights (normalised). */
  readonly currencies: Readonly<Record<string, number>>;
  /** Share of e-commerce terminals that belong to merchants abroad (GB/US, in GBP/USD). */
  readonly foreignOnlineShare: number;
}

/** Public test BINs (issuer prefixes used by payment-provider sandboxes); never real cards. */
const testBins = ['411111', '555555', '400000'] as const;
const physicalMccs = [
  '5411',
  '5812',
  '5814',
  '5541',
  '5311',
  '5912',
  '5999',
  '4111',
  '5691',
  '5732',
  '7011',
  '5200',
] as const;
const onlineMccs = ['5969', '4899', '5815', '5732', '4722', '5942', '5964'] as const;
const remittanceTexts = [
  'Rent',
  'Electricity',
  'Insurance premium',
  'Phone bill',
  'Savings',
  'Invoice',
  'Tuition',
  'Gym membership',
] as const;
/** The handbook: each customer uses the terminals strictly within this grid radius. */
export const TERMINAL_RADIUS = 5;
const ONLINE_TERMINAL_SHARE = 0.2;
const BANK_ID = 'vigil-sim-bank';

/** A device id and IP in the simulator's formats; fraudsters' devices use the same formats as genuine ones. */
export function makeDevice(seed: number, ...parts: readonly number[]): DeviceProfile {
  const h = hash32(seed, 0xde, ...parts);
  return {
    id: `dev-${panFreeHex(16, seed, 0xd1, ...parts)}`,
    ip: `10.${(h >>> 16) & 0xff}.${(h >>> 8) & 0xff}.${(h & 0xff) | 1}`,
  };
}

/** An external bank account id in the format of every beneficiary outside the simulated bank. */
export function makeExternalAccount(seed: number, ...parts: readonly number[]): string {
  return `acct-ext-${panFreeHex(12, seed, 0xee, ...parts)}`;
}

/**
 * `hashHex`, re-drawn (deterministically) while it holds a run of decimal digits that passes for a card number:
 * ingest refuses identifiers that carry one, and a simulated id must never be refused for that by chance (about
 * one hex id in 10,000 would be).
 */
function panFreeHex(count: number, ...parts: readonly number[]): string {
  for (let salt = 0; ; salt++) {
    const hex = hashHex(count, ...parts, salt);
    if (!containsPan(hex)) return hex;
  }
}

function pad(index: number, width: number): string {
  return String(index).padStart(width, '0');
}

function weightedPick(random: Random, entries: ReadonlyArray<readonly [string, number]>): string {
  let total = 0;
  for (const [, weight] of entries) total += weight;
  let target = random.next() * total;
  for (const [key, weight] of entries) {
    target -= weight;
    if (target < 0) return key;
  }
  return entries[entries.length - 1]![0];
}

function location(place: Place): TxLocation {
  return { country: place.country, latitude: place.latitude, longitude: place.longitude };
}

/**
 * The simulated world: customers, terminals and cash points placed on the handbook's grid, with each
 * customer's cards, devices and payees. Built once from the seed; neighbourhoods are computed lazily.
 */
export class Population {
  readonly customers: readonly CustomerProfile[];
  readonly terminals: readonly TerminalProfile[];
  readonly cashPoints: readonly CashPointProfile[];
  /** Indexes of e-commerce terminals (card-testing fraudsters shop there). */
  readonly onlineTerminals: Int32Array;
  private readonly neighbourCache: Array<Int32Array | undefined>;
  private readonly cashCache: Array<{ readonly atms: Int32Array; readonly branches: Int32Array } | undefined>;
  private readonly cellHead: Int32Array;
  private readonly cellNext: Int32Array;

  constructor(options: PopulationOptions) {
    const { seed } = options;
    const random = new Random(seed, 0x9091);
    const currencyEntries = Object.entries(options.currencies).filter(([, weight]) => weight > 0);

    const customers: CustomerProfile[] = [];
    for (let index = 0; index < options.customers; index++) {
      const x = random.uniform(0, GRID_SIZE);
      const y = random.uniform(0, GRID_SIZE);
      const meanAmount = random.uniform(5, 100);
      const meanTxPerDay = random.uniform(0, 2 * options.meanTxPerCustomerPerDay);
      const cardCount = random.chance(0.3) ? 2 : 1;
      const cards: CardProfile[] = [];
      for (let card = 0; card < cardCount; card++) {
        const bin = random.pick(testBins);
        // A bijection of the card's serial onto 9 digits (3^18 is coprime with 10^9): unique per population.
        const serial = index * 2 + card;
        const body = ((serial * 387_420_489 + (hash32(seed, 0xca7d) % 1_000_000_000)) % 1_000_000_000)
          .toString()
          .padStart(9, '0');
        const partial = bin + body;
        const number = partial + String(luhnCheckDigit(partial));
        cards.push({
          number,
          bin,
          last4: number.slice(-4),
          token: `simtok_${panFreeHex(24, seed, 0x70c, index, card)}`,
        });
      }
      const devices: DeviceProfile[] = [];
      const deviceCount = random.chance(0.4) ? 2 : 1;
      for (let device = 0; device < deviceCount; device++) devices.push(makeDevice(seed, 1, index, device));
      const payees = [];
      const payeeCount = random.intBetween(1, 3);
      for (let payee = 0; payee < payeeCount; payee++) {
        payees.push({ accountId: makeExternalAccount(seed, index, payee), remittance: random.pick(remittanceTexts) });
      }
      const friends: number[] = [];
      if (options.customers > 1) {
        const friendCount = random.intBetween(1, 3);
        for (let i = 0; i < friendCount; i++) {
          const friend = random.int(options.customers - 1);
          friends.push(friend >= index ? friend + 1 : friend);
        }
      }
      customers.push({
        index,
        customerId: `cust-${pad(index, 6)}`,
        accountId: `acct-${pad(index, 6)}`,
        x,
        y,
        home: location(placeAt(x, y)),
        accountCurrency: weightedPick(random, currencyEntries),
        meanAmount,
        meanTxPerDay,
        transferMean: meanAmount * random.uniform(5, 20),
        cards,
        devices,
        payees,
        friends,
      });
    }

    const terminals: TerminalProfile[] = [];
    const online: number[] = [];
    for (let index = 0; index < options.terminals; index++) {
      const x = random.uniform(0, GRID_SIZE);
      const y = random.uniform(0, GRID_SIZE);
      const cardPresent = !random.chance(ONLINE_TERMINAL_SHARE);
      const foreign =
        !cardPresent && random.chance(options.foreignOnlineShare) ? random.pick(foreignMerchantCountries) : undefined;
      const place = placeAt(x, y);
      if (!cardPresent) online.push(index);
      terminals.push({
        index,
        terminalId: `term-${pad(index, 6)}`,
        merchantId: `merch-${pad(index, 6)}`,
        payeeAccountId: `acct-merch-${pad(index, 6)}`,
        mcc: cardPresent ? random.pick(physicalMccs) : random.pick(onlineMccs),
        x,
        y,
        cardPresent,
        currency: foreign?.currency ?? 'EUR',
        location: cardPresent
          ? location(place)
          : { country: foreign?.country ?? place.country, latitude: null, longitude: null },
      });
    }

    const cashPoints: CashPointProfile[] = [];
    const cashPointCount = Math.max(20, Math.round(options.terminals / 50));
    for (let index = 0; index < cashPointCount; index++) {
      const x = random.uniform(0, GRID_SIZE);
      const y = random.uniform(0, GRID_SIZE);
      cashPoints.push({
        index,
        terminalId: `atm-${pad(index, 5)}`,
        accountId: `${BANK_ID}-cash-${pad(index, 5)}`,
        branch: index % 3 === 0,
        location: location(placeAt(x, y)),
        x,
        y,
      });
    }

    this.customers = customers;
    this.terminals = terminals;
    this.cashPoints = cashPoints;
    this.onlineTerminals = Int32Array.from(online);
    this.neighbourCache = new Array<Int32Array | undefined>(customers.length);
    this.cashCache = new Array<{ atms: Int32Array; branches: Int32Array } | undefined>(customers.length);

    // A 1×1-cell spatial index of terminals, so a radius-5 query scans 11×11 cells instead of every terminal.
    this.cellHead = new Int32Array(GRID_SIZE * GRID_SIZE).fill(-1);
    this.cellNext = new Int32Array(terminals.length);
    for (let t = terminals.length - 1; t >= 0; t--) {
      const cell = Math.floor(terminals[t]!.y) * GRID_SIZE + Math.floor(terminals[t]!.x);
      this.cellNext[t] = this.cellHead[cell]!;
      this.cellHead[cell] = t;
    }
  }

  /** Terminals strictly within radius 5 of the customer, ascending by index (the handbook's rule). */
  terminalsNear(customer: number): Int32Array {
    const cached = this.neighbourCache[customer];
    if (cached !== undefined) return cached;
    const { x, y } = this.customers[customer]!;
    const found: number[] = [];
    const r = TERMINAL_RADIUS;
    for (let cy = Math.max(0, Math.floor(y - r)); cy <= Math.min(GRID_SIZE - 1, Math.floor(y + r)); cy++) {
      for (let cx = Math.max(0, Math.floor(x - r)); cx <= Math.min(GRID_SIZE - 1, Math.floor(x + r)); cx++) {
        for (let t = this.cellHead[cy * GRID_SIZE + cx]!; t !== -1; t = this.cellNext[t]!) {
          const terminal = this.terminals[t]!;
          const dx = terminal.x - x;
          const dy = terminal.y - y;
          if (dx * dx + dy * dy < r * r) found.push(t);
        }
      }
    }
    const result = Int32Array.from(found.sort((a, b) => a - b));
    this.neighbourCache[customer] = result;
    return result;
  }

  /** The customer's three nearest ATMs and two nearest branches. */
  cashPointsNear(customer: number): { readonly atms: Int32Array; readonly branches: Int32Array } {
    const cached = this.cashCache[customer];
    if (cached !== undefined) return cached;
    const { x, y } = this.customers[customer]!;
    const byDistance = this.cashPoints
      .map((point) => ({ index: point.index, branch: point.branch, d: (point.x - x) ** 2 + (point.y - y) ** 2 }))
      .sort((a, b) => a.d - b.d || a.index - b.index);
    const result = {
      atms: Int32Array.from(byDistance.slice(0, 3).map((p) => p.index)),
      branches: Int32Array.from(
        byDistance
          .filter((p) => p.branch)
          .slice(0, 2)
          .map((p) => p.index),
      ),
    };
    this.cashCache[customer] = result;
    return result;
  }
}
