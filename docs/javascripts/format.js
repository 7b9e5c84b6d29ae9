// Numbers as text: the exact-decimal tick labels and the one number-for-people format.
//
// Both have a Python counterpart that must give the same characters (the build-time SVG and
// the results panel are written by Python, the canvas and the notices by this file);
// tests/browser/test_js_parity_browser.py compares them for every sample figure and a spread of values.

const SUP = { 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹", "-": "⁻" };

// Tick values as two integers (a, e) meaning a × 10^e: exact labels, the same in both
// languages. Twins of gradclip/figures/numbers.py, name for name.

// a × 10^e, correctly rounded: a decimal literal parsed, exactly as Python's float("ae e").
export const decimalValue = (a, e) => Number(`${a}e${e}`);

export function fixedLabel(a, e) {
  let digits = String(Math.abs(a));
  let s;
  if (e >= 0) s = a ? digits + "0".repeat(e) : "0";
  else {
    digits = digits.padStart(-e + 1, "0");
    s = digits.slice(0, e) + "." + digits.slice(e);
  }
  return (a < 0 ? "−" : "") + s;
}

export function powerLabel(a, e) {
  if (a === 0) return "0";
  const full = String(Math.abs(a));
  const digits = full.replace(/0+$/, "");
  const exp = e + full.length - 1;
  const mant = digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "");
  const sign = a < 0 ? "−" : "";
  const power = "10" + [...String(exp)].map((c) => SUP[c]).join("");
  return mant === "1" ? sign + power : `${sign}${mant}×${power}`;
}

export function log10Floor(x) {
  let e = Math.floor(Math.log10(x));
  if (x < decimalValue(1, e)) e -= 1;
  else if (x >= decimalValue(1, e + 1)) e += 1;
  return e;
}

// x rounded to p significant digits as Python rounds: half-to-even on the exact binary value
// (JavaScript's toPrecision rounds exact ties up). Returns [p digits, decimal exponent].
function sigDigits(x, p) {
  const [m, e] = Math.abs(x).toExponential(100).split("e");
  const all = m.replace(".", "");
  let head = all.slice(0, p);
  const rest = all.slice(p);
  const odd = Number(head[head.length - 1]) % 2 === 1;
  if (rest[0] > "5" || (rest[0] === "5" && (!/^50*$/.test(rest) || odd))) head = String(BigInt(head) + 1n);
  let exp = Number(e);
  if (head.length > p) { head = head.slice(0, p); exp += 1; }
  return [head, exp];
}

// Python's e-notation: "5.00e-05" (the exponent has a sign and at least two digits).
function eNotation(sign, digits, exp) {
  const mant = digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "");
  return `${sign}${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

// f"{x:.{p}g}": fixed notation for exponents -4 … p-1, else e-notation; trailing zeros dropped.
function pyGeneral(x, p) {
  const [d, exp] = sigDigits(x, p);
  const sign = x < 0 ? "-" : "";
  if (exp < -4 || exp >= p) return eNotation(sign, d.replace(/0+$/, ""), exp);
  const s = exp >= 0 ? `${d.slice(0, exp + 1)}.${d.slice(exp + 1)}` : `0.${"0".repeat(-exp - 1)}${d}`;
  return sign + s.replace(/0+$/, "").replace(/\.$/, "");
}

/**
 * A number for people, exactly as gradclip.demos.fmt_number: 3 significant digits, whole
 * numbers below a million written out, e-notation outside 1e-4 … 1e4, "∞" for infinity.
 * (JavaScript has no int type: a whole number is formatted like Python's float of it.)
 */
export function formatNumber(x, digits = 3) {
  if (typeof x === "boolean") return x ? "yes" : "no";
  if (typeof x !== "number") return String(x);
  if (Number.isNaN(x)) return "not a number";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (x === 0) return "0";
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e4) return pyGeneral(x, digits);
  const [d, exp] = sigDigits(x, digits);   // f"{x:.{digits - 1}e}": zeros kept
  return eNotation(x < 0 ? "-" : "", d, exp);
}

const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/**
 * A size in bytes for people, in binary units, exactly as gradclip.figures.numbers.size_text:
 * "64 MiB", "1.5 KiB", "512 B" (three significant digits, four from 1000 up).
 */
export function sizeText(nBytes) {
  const n = Math.trunc(nBytes);
  if (n < 1024) return `${n} B`;
  let value = n;
  let unit = 0;
  // Compare the rounded value, so that 1024 ** 2 - 1 bytes reads "1 MiB", not "1024 KiB".
  while (Number(pyGeneral(value, 4)) >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${pyGeneral(value, value >= 999.5 ? 4 : 3)} ${SIZE_UNITS[unit]}`;
}
