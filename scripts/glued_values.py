"""Every value the built book glues into its text, saved and compared between two builds.

myst-nb leaves the glued outputs of each executed chapter in
``_build/jupyter_execute/book/<chapter>.glue.json``. This script reads them
and keeps, for each glued name, what the text can show: the plain-text value
(numbers, at full precision) or the Markdown (glued phrases); figures are
recorded by name only.

    python scripts/glued_values.py save before.json            # after building the book
    python scripts/glued_values.py compare before.json after.json [--rename old=new ...]

``compare`` lists every name whose value changed, appeared or disappeared.
Numbers compare to a relative 1e-12; a number now glued as formatted text
(``lib.plotting.number``) is "same" when the text shows it correctly rounded;
``--rename`` maps a value glued under a new name (``chapter:old=chapter:new``;
names are ``chapter:key``; ``--renames FILE`` reads such lines from a file).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "_build" / "jupyter_execute" / "book"


def parse_shown(text: str):
    """The number a glued Markdown string shows (``14,400``, ``\u22121.69``, ``$7.3 \\times 10^{-15}$``,
    ``13%``) and half a unit of its last digit, or None if it is not a number."""
    t = text.strip().replace("\u2212", "-").replace(",", "")
    percent = t.endswith("%")
    t = t.rstrip("%").strip("$ ")
    m = re.fullmatch(r"(?:([-+]?\d+(?:\.\d*)?)\s*\\times\s*)?10\^\{(-?\d+)\}", t)
    if m:
        mantissa, exponent = m.group(1) or "1", int(m.group(2))
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return float(mantissa) * 10.0 ** exponent, 0.5 * 10.0 ** (exponent - decimals), percent
    if re.fullmatch(r"[-+]?\d+(?:\.\d*)?", t):
        decimals = len(t.split(".")[1]) if "." in t else 0
        return float(t), 0.5 * 10.0 ** -decimals, percent
    return None


def _value(output: dict):
    data = output.get("data", {})
    for mime in ("image/png", "image/svg+xml"):
        if any(k.endswith(mime) for k in data):
            return {"kind": "figure"}
    for mime in ("text/markdown", "text/latex", "text/html"):
        key = next((k for k in data if k.endswith(mime)), None)
        if key:
            return {"kind": "markdown", "value": "".join(data[key])}
    key = next((k for k in data if k.endswith("text/plain")), None)
    text = "".join(data[key]) if key else ""
    number = _number(text)
    if number is not None:
        return {"kind": "number", "value": number, "text": text}
    return {"kind": "text", "value": text}


def _number(text: str):
    t = text.strip()
    for prefix in ("np.float64(", "np.int64(", "np.float32(", "np.int32("):
        if t.startswith(prefix) and t.endswith(")"):
            t = t[len(prefix):-1]
    try:
        return float(t)
    except ValueError:
        return None


def collect(executed: Path = EXECUTED) -> dict:
    """``{"chapter:name": value}`` for every glued output of every executed chapter."""
    out = {}
    for path in sorted(executed.glob("*.glue.json")):
        chapter = path.name[: -len(".glue.json")]
        for name, output in json.loads(path.read_text()).items():
            out[f"{chapter}:{name}"] = _value(output)
    return out


def compare(before: dict, after: dict, renames: dict | None = None, rtol: float = 1e-12) -> list[str]:
    """Lines describing every difference between two :func:`collect` results."""
    renames = renames or {}
    lines = []
    mapped = {renames.get(k, k): v for k, v in before.items()}
    for key in sorted(set(mapped) | set(after)):
        a, b = mapped.get(key), after.get(key)
        if a is None:
            lines.append(f"new      {key}: {_show(b)}")
        elif b is None:
            lines.append(f"gone     {key}: {_show(a)}")
        elif a["kind"] == "number" and b["kind"] == "number":
            x, y = a["value"], b["value"]
            if not (x == y or (math.isfinite(x) and math.isfinite(y)
                               and abs(x - y) <= rtol * max(abs(x), abs(y)))):
                lines.append(f"changed  {key}: {x!r} -> {y!r}")
        elif "number" in (a["kind"], b["kind"]) and "markdown" in (a["kind"], b["kind"]):
            number, shown = (a, b) if a["kind"] == "number" else (b, a)
            parsed = parse_shown(shown["value"])
            if parsed is None:
                lines.append(f"changed  {key}: {_show(a)} -> {_show(b)}")
                continue
            value, half, _ = parsed
            if abs(number["value"] - value) > half * (1 + 1e-9):
                lines.append(f"changed  {key}: {_show(a)} -> {_show(b)} (shown differently)")
            else:
                lines.append(f"same     {key}: {_show(a)} -> {_show(b)}")
        elif a != b:
            lines.append(f"changed  {key}: {_show(a)} -> {_show(b)}")
    return lines


def _show(v) -> str:
    if v["kind"] == "figure":
        return "(figure)"
    return repr(v["value"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save", help="save the glued values of the built book")
    s.add_argument("out", type=Path)
    s.add_argument("--executed", type=Path, default=EXECUTED)
    c = sub.add_parser("compare", help="compare two saved sets (or a saved set with the built book)")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path, nargs="?", help="default: the built book")
    c.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    c.add_argument("--renames", type=Path, help="a file of OLD=NEW lines")
    args = parser.parse_args(argv)
    if args.command == "save":
        values = collect(args.executed)
        if not values:
            print(f"no glued values under {args.executed}: build the book first (make book)", file=sys.stderr)
            return 1
        args.out.write_text(json.dumps(values, indent=1, sort_keys=True))
        print(f"{args.out}: {len(values)} glued values")
        return 0
    before = json.loads(args.before.read_text())
    after = json.loads(args.after.read_text()) if args.after else collect()
    pairs = list(args.rename)
    if args.renames:
        pairs += [line.strip() for line in args.renames.read_text().splitlines() if "=" in line]
    renames = dict(r.split("=", 1) for r in pairs)
    lines = compare(before, after, renames)
    print("\n".join(lines) if lines else "no differences")
    kinds = {k: sum(line.startswith(k) for line in lines) for k in ("same", "changed", "new", "gone")}
    print(f"{len(before)} values before, {len(after)} after: {kinds['same']} the same number as now shown, "
          f"{kinds['changed']} changed, {kinds['new']} new, {kinds['gone']} gone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
