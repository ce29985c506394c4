import type { ComponentChildren } from 'preact';

/** A column of a DataTable: its header, and the cell of one row. `numeric` right-aligns (amounts, counts). */
export interface Column<Row> {
  readonly header: string;
  readonly cell: (row: Row) => ComponentChildren;
  readonly numeric?: boolean;
}

interface DataTableProps<Row> {
  readonly id?: string;
  readonly caption: string;
  readonly columns: ReadonlyArray<Column<Row>>;
  readonly rows: readonly Row[];
  readonly rowKey: (row: Row) => string;
  /** Extra attributes per row (data-*, aria-selected, a class). */
  readonly rowProps?: (row: Row, index: number) => Record<string, string | boolean | undefined>;
  readonly onRowClick?: (row: Row, index: number) => void;
  readonly empty: string;
}

/**
 * The one table of the console: a real `<table>` with a caption and column headers (screen readers announce both),
 * used by every list view so they look and read alike.
 */
export function DataTable<Row>(props: DataTableProps<Row>) {
  if (props.rows.length === 0)
    return (
      <p class="muted" role="status">
        {props.empty}
      </p>
    );
  return (
    <div class="table-wrap">
      <table id={props.id} class="data">
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c.header} scope="col" class={c.numeric ? 'num' : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row, i) => (
            <tr
              key={props.rowKey(row)}
              {...(props.rowProps?.(row, i) ?? {})}
              onClick={props.onRowClick === undefined ? undefined : () => props.onRowClick!(row, i)}
            >
              {props.columns.map((c) => (
                <td key={c.header} class={c.numeric ? 'num' : undefined}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
