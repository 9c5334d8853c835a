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

/** Start of a page: after `key` in list order, or before it when the iterator was a prevIterator. */
export interface Keyset {
  key: string | undefined;
  backwards: boolean;
  /** Comparison that selects the rows of the page relative to `key`. */
  operator: '>' | '<';
  /** Sort direction of the query; a backwards page is read in reverse and flipped. */
  direction: 'asc' | 'desc';
}

/** Reads an iterator (`id`) or a prevIterator (`-id`) for a list sorted in `order`. */
export function readIterator(iterator: string | undefined, order: 'ascending' | 'descending'): Keyset {
  const backwards = iterator?.startsWith('-') ?? false;
  const key = backwards ? iterator?.slice(1) : iterator;
  const forwardAscending = order === 'ascending';
  const ascending = backwards ? !forwardAscending : forwardAscending;
  return { key: key === '' ? undefined : key, backwards, operator: ascending ? '>' : '<', direction: ascending ? 'asc' : 'desc' };
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only shows whether
 * another page exists.
 */
export function toPage<T>(
  rows: T[],
  limit: number,
  keyOf: (row: T) => string,
  requestIterator?: string,
  backwards = false,
): Page<T> {
  const done = rows.length <= limit;
  const fetched = done ? rows : rows.slice(0, limit);
  const data = backwards ? fetched.reverse() : fetched;
  const last = data[data.length - 1];
  const first = data[0];
  return {
    data,
    iterator: last ? keyOf(last) : (requestIterator ?? null),
    prevIterator: first ? `-${keyOf(first)}` : null,
    done,
  };
}
