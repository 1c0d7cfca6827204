"""emocause's mail parsing against an independent one: Python's ``mailbox`` + ``email`` (policy=default).

Every archive of ``../shared/data/mail-corpora`` (notmuch's Maildir corpora are
wrapped into one mbox per folder with :class:`mailbox.mbox`, which escapes body
``From `` lines as mbox writers do), the b4 and Mailpile samples, and Perceval's
mbox, Pipermail and HyperKitty fixtures are read both ways and compared on the
messages kept (those with a Message-ID and a Date), their ids, subjects,
authors and dates.  ``tests/test_mail_corpora.py`` asserts the comparison per
file; ``python -m tests.mail_reference`` prints the table in docs/mail.md.
"""

from __future__ import annotations

import mailbox
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timezone
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMOCAUSE_SHARED", ROOT.parent / "shared"))
CORPORA = SHARED / "data" / "mail-corpora"
PERCEVAL = SHARED / "data" / "perceval"


@dataclass
class Archive:
    name: str   # how the table names it
    path: Path  # an mbox file


def _maildir_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "README"
                  and not p.read_bytes()[:5] == b"From ")



def _wrap(files: list[Path], dest: Path) -> Path:
    """One-message files -> one mbox, as an mbox writer makes it (``From `` lines escaped)."""
    box = mailbox.mbox(str(dest), create=True)
    try:
        for f in files:
            box.add(f.read_bytes())
        box.flush()
    finally:
        box.close()
    return dest


def archives(tmp: Path) -> Iterator[Archive]:
    """Every archive to compare (Maildir folders wrapped into mboxes under ``tmp``)."""
    notmuch = CORPORA / "notmuch-corpora"
    for folder in sorted(p for p in notmuch.iterdir() if p.is_dir()):
        files = _maildir_files(folder)
        if files:
            yield Archive(f"notmuch/{folder.name}", _wrap(files, tmp / f"notmuch-{folder.name}.mbox"))
    for f in sorted((CORPORA / "b4-samples").glob("*.mbox")):
        yield Archive(f"b4/{f.name}", f)
    mailpile = CORPORA / "mailpile"
    yield Archive("mailpile/tests.mbx", mailpile / "tests.mbx")
    for f in sorted((mailpile / "Maildir").glob("*.mbx")):
        yield Archive(f"mailpile/Maildir/{f.name}", f)
    singles = _maildir_files(mailpile / "Maildir")
    yield Archive("mailpile/Maildir (messages)", _wrap(singles, tmp / "mailpile-maildir.mbox"))
    for kind in ("mbox", "pipermail", "hyperkitty"):
        for f in sorted((PERCEVAL / kind).glob("*.mbox")):
            yield Archive(f"perceval/{kind}/{f.name}", f)


@dataclass
class Parsed:
    messages: int = 0
    kept: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> subject, author, date


_ANGLE = re.compile(r"<([^<>\s]+)>")


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def reference(path: Path) -> Parsed:
    """The independent parse: mailbox.mbox splits, email (policy=default) reads each message."""
    out = Parsed()
    box = mailbox.mbox(str(path), create=False)
    try:
        for key in box.iterkeys():
            out.messages += 1
            msg = message_from_bytes(box.get_bytes(key), policy=policy.default)
            try:
                mid = str(msg.get("message-id") or "")
                date = msg.get("date")
                when = date.datetime if date is not None else None
            except Exception:  # the reference cannot read the header: no entry
                continue
            m = _ANGLE.search(mid)
            token = m.group(1) if m else (mid.split()[0].strip("<>") if mid.split() else "")
            if not token or when is None:
                continue
            rid = f"mail:{token}"
            if rid in out.kept:
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            try:
                subject = _norm(msg.get("subject") or "")
            except Exception:
                subject = "(unreadable)"
            try:
                addrs = msg["from"].addresses if msg["from"] is not None else ()
                author = addrs[0].addr_spec.lower() if addrs else ""
            except Exception:
                author = "(unreadable)"
            out.kept[rid] = {"subject": subject, "author": author,
                             "date": when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    finally:
        box.close()
    return out


def emocause_parse(path: Path) -> tuple[Parsed, dict[str, dict]]:
    """emocause's reading of the same file (its own splitter, decoder and parser)."""
    from emocause.sources.mail import parse_message, read_mbox

    out = Parsed()
    records: dict[str, dict] = {}
    for raw in read_mbox(path):
        out.messages += 1
        rec, _ = parse_message(raw, "p", lambda mid: mid)
        if rec is None or rec["id"] in out.kept:
            continue
        records[rec["id"]] = rec
        out.kept[rec["id"]] = {"subject": _norm(rec["title"]), "author": rec["author"],
                               "date": rec["created_at"]}
    return out, records


@dataclass
class Comparison:
    name: str
    messages: tuple[int, int]         # (emocause, reference)
    kept: tuple[int, int]
    ids_only: tuple[list[str], list[str]]  # ids only emocause / only the reference has
    differ: dict[str, list[tuple[str, str, str]]]  # field -> [(id, emocause, reference)]


def compare(archive: Archive) -> Comparison:
    ours, _ = emocause_parse(archive.path)
    ref = reference(archive.path)
    common = sorted(set(ours.kept) & set(ref.kept))
    differ: dict[str, list[tuple[str, str, str]]] = {"subject": [], "author": [], "date": []}
    for rid in common:
        for f in differ:
            if ours.kept[rid][f] != ref.kept[rid][f]:
                differ[f].append((rid, ours.kept[rid][f], ref.kept[rid][f]))
    return Comparison(archive.name, (ours.messages, ref.messages), (len(ours.kept), len(ref.kept)),
                      (sorted(set(ours.kept) - set(ref.kept)), sorted(set(ref.kept) - set(ours.kept))),
                      differ)


def table(rows: list[Comparison]) -> str:
    lines = ["| archive | messages (emocause / reference) | kept, with id and date | same ids "
             "| subjects differ | authors differ | dates differ |", "|---|---:|---:|---|---:|---:|---:|"]
    tot = [0, 0, 0, 0, 0, 0, 0]
    for c in rows:
        same = not c.ids_only[0] and not c.ids_only[1]
        lines.append(f"| {c.name} | {c.messages[0]} / {c.messages[1]} | {c.kept[0]} / {c.kept[1]} | "
                     f"{'yes' if same else 'no'} | {len(c.differ['subject'])} | "
                     f"{len(c.differ['author'])} | {len(c.differ['date'])} |")
        for i, v in enumerate((c.messages[0], c.messages[1], c.kept[0], c.kept[1],
                               len(c.differ["subject"]), len(c.differ["author"]),
                               len(c.differ["date"]))):
            tot[i] += v
    lines.append(f"| **all {len(rows)} archives** | {tot[0]} / {tot[1]} | {tot[2]} / {tot[3]} | | "
                 f"{tot[4]} | {tot[5]} | {tot[6]} |")
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [compare(a) for a in archives(Path(tmp))]
    print(table(rows))
    for c in rows:
        for f, items in c.differ.items():
            for rid, ours, ref in items:
                print(f"{c.name} {f} {rid}: emocause {ours!r} reference {ref!r}", file=sys.stderr)
        for rid in c.ids_only[0]:
            print(f"{c.name}: only emocause has {rid}", file=sys.stderr)
        for rid in c.ids_only[1]:
            print(f"{c.name}: only the reference has {rid}", file=sys.stderr)


if __name__ == "__main__":
    main()
