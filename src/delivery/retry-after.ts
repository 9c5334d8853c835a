const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const longWeekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const time = '(\\d{2}):(\\d{2}):(\\d{2})';
const month = `(${months.join('|')})`;
// The three HTTP date formats of RFC 9110, section 5.6.7, which recipients must accept.
const imfFixdate = new RegExp(`^(?:${weekdays.join('|')}), (\\d{2}) ${month} (\\d{4}) ${time} GMT$`);
const rfc850Date = new RegExp(`^(?:${longWeekdays.join('|')}), (\\d{2})-${month}-(\\d{2}) ${time} GMT$`);
const asctimeDate = new RegExp(`^(?:${weekdays.join('|')}) ${month} ([ \\d]\\d) ${time} (\\d{4})$`);

const YEAR_MS = 365.25 * 24 * 3_600_000;

type DateParts = { year: number; month: string; day: string; hours: string; minutes: string; seconds: string };

function toMilliseconds(parts: DateParts): number | undefined {
  const monthIndex = months.indexOf(parts.month);
  const day = Number(parts.day);
  const hours = Number(parts.hours);
  const minutes = Number(parts.minutes);
  const seconds = Number(parts.seconds);
  const value = Date.UTC(parts.year, monthIndex, day, hours, minutes, seconds);

  // Date.UTC rolls over out-of-range fields (31 Feb becomes 3 Mar), so the result is
  // read back to reject dates that do not exist.
  const check = new Date(value);
  const exists =
    check.getUTCDate() === day && check.getUTCMonth() === monthIndex && hours < 24 && minutes < 60 && seconds < 60;
  return exists ? value : undefined;
}

/**
 * Parses an HTTP date in IMF-fixdate, RFC 850 or asctime format into Unix milliseconds.
 * A two-digit RFC 850 year that would lie more than 50 years after `now` is read as the
 * latest past year with those digits, as RFC 9110 requires. Returns undefined for
 * anything else.
 */
export function parseHttpDate(text: string, now: number): number | undefined {
  let match = imfFixdate.exec(text);
  if (match) {
    const [, day = '', monthName = '', year = '', hours = '', minutes = '', seconds = ''] = match;
    return toMilliseconds({ year: Number(year), month: monthName, day, hours, minutes, seconds });
  }

  match = asctimeDate.exec(text);
  if (match) {
    const [, monthName = '', day = '', hours = '', minutes = '', seconds = '', year = ''] = match;
    return toMilliseconds({ year: Number(year), month: monthName, day: day.trim(), hours, minutes, seconds });
  }

  match = rfc850Date.exec(text);
  if (match) {
    const [, day = '', monthName = '', shortYear = '', hours = '', minutes = '', seconds = ''] = match;
    const currentYear = new Date(now).getUTCFullYear();
    let year = currentYear - (currentYear % 100) + Number(shortYear);
    const parts = { month: monthName, day, hours, minutes, seconds };
    const value = toMilliseconds({ year, ...parts });
    if (value !== undefined && value - now > 50 * YEAR_MS) {
      year -= 100;
      return toMilliseconds({ year, ...parts });
    }
    return value;
  }

  return undefined;
}

/**
 * Parses a `Retry-After` response header into a delay in milliseconds from `now`. The
 * header is either whole seconds or an HTTP date. A date in the past gives 0, and every
 * delay is clamped to `maxDelayMs`, so an endpoint cannot park its deliveries for
 * months. Returns undefined when the header is missing or invalid.
 */
export function parseRetryAfter(
  header: string | undefined,
  options: { now: number; maxDelayMs: number },
): number | undefined {
  const text = header?.trim();
  if (text === undefined || text === '') {
    return undefined;
  }

  let delay: number | undefined;
  if (/^\d+$/.test(text)) {
    delay = Number(text) * 1000;
  } else {
    const date = parseHttpDate(text, options.now);
    delay = date === undefined ? undefined : date - options.now;
  }
  if (delay === undefined || Number.isNaN(delay)) {
    return undefined;
  }
  return Math.min(Math.max(0, delay), options.maxDelayMs);
}
