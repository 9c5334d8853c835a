/** A page request as the Svix API has it: `limit` items after `iterator`, in `order`. */
export interface PageRequest {
  limit: number;
  iterator?: string | undefined;
  order: 'ascending' | 'descending';
}

export interface Page<T> {
  data: T[];
  /** Cursor for the next page: the key of the last item, or null when there is none. */
  iterator: string | null;
  /** Cursor for the page before this one, prefixed with `-` as Svix does. */
  prevIterator: string | null;
  done: boolean;
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only tells whether
 * another page exists.
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => string, requestIterator?: string): Page<T> {
  const done = rows.length <= limit;
  const data = done ? rows : rows.slice(0, limit);
  const last = data[data.length - 1];
  const first = data[0];
  return {
    data,
    iterator: last ? keyOf(last) : (requestIterator ?? null),
    prevIterator: first ? `-${keyOf(first)}` : null,
    done,
  };
}
