"""Table I/O through the real CLI: ragged lines, compression, separators, encodings, stdin/stdout,
Parquet of mixed types and empty outputs (issue 16 items 1, 5, 9 and the small fixes; issue 10
item 12).  pandas, gzip/bz2/lzma/zstandard and Python's csv module are the independent readers."""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from emocause import tables
from emocause.errors import UsageError
from tests.conftest import ROOT
from tests.fakes.openai import FakeOpenAI, keyword_responder

RAGGED = "id,text\n1,hello, with unquoted comma\n2,bye\n3,ok\n"
GOOD = "id,text,Anger,Love,Fear,Joy,Sadness,Surprise,cause,Cause Span\n" + "".join(
    f"{i},comment {i},0,1,0,0,0,0,the build,the build\n" for i in (1, 2, 3))


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def one_line_error(r, *needles: str) -> None:
    assert r.code == 2, (r.code, r.out, r.err)
    lines = [x for x in r.err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.err
    assert "Traceback" not in r.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ---------------------------------------------------------------- item 1: ragged CSV, every command

COMMANDS = {
    "classify": lambda d, f: ["classify", f, "--out", d / "o.csv"],
    "causes": lambda d, f: ["causes", f, "--out", d / "o.csv", "--emotion", "Anger"],
    "preprocess": lambda d, f: ["preprocess", f, "--out", d / "o.csv"],
    "report": lambda d, f: ["report", f, "--out", d / "rep", "--from-causes", "--cause-col", "text"],
    "train": lambda d, f: ["train", f, "--model-out", d / "model"],
    "evaluate emotions": lambda d, f: ["evaluate", "emotions", "--gold", f, "--pred", d / "good.csv"],
    "evaluate causes": lambda d, f: ["evaluate", "causes", "--gold", d / "good.csv", "--pred", f],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_ragged_csv_is_an_error_naming_the_line_in_every_command(cli, tmp_path, command):
    write(tmp_path / "good.csv", GOOD)
    bad = write(tmp_path / "ragged.csv", RAGGED)
    r = cli(*COMMANDS[command](tmp_path, bad))
    one_line_error(r, "ragged.csv line 2", "3 fields where the header has 2", "--bad-lines skip")
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "rep").exists()


def test_fewer_fields_than_the_header_is_an_error_too(cli, tmp_path):
    bad = write(tmp_path / "short.csv", "id,text,extra\n1,a,x\n2,b\n")
    one_line_error(cli("preprocess", bad, "--out", tmp_path / "o.csv"), "short.csv line 3", "2 fields")


@pytest.mark.parametrize("command", ["preprocess", "evaluate causes"])
def test_bad_lines_skip_skips_and_counts(cli, tmp_path, command):
    write(tmp_path / "good.csv", GOOD)
    bad = write(tmp_path / "ragged.csv", "id,text,cause\n1,hello, with comma,the build\n2,bye,x\n"
                                         "3,ok,y\n4\n")
    args = COMMANDS[command](tmp_path, bad)
    if command == "evaluate causes":
        args += ["--pred-col", "cause", "--bootstrap", "0"]
    r = cli(*args, "--bad-lines", "skip")
    assert r.code == 0, r.err
    assert "ragged.csv: skipped 2 malformed line(s) (line 2, 5); 2 rows read" in r.err
    if command == "preprocess":
        out = pd.read_csv(tmp_path / "o.csv", dtype=str)
        assert list(out["id"]) == ["2", "3"] and list(out["text"]) == ["bye", "ok"]
        manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
        assert manifest["table"]["skipped_lines"] == 2 and manifest["table"]["skipped_at"] == [2, 5]


def test_classify_skip_is_in_the_summary_and_manifest_and_ids_stay(cli, tmp_path):
    bad = write(tmp_path / "in.csv", "id,text\n1,hello, with unquoted comma\n2,thanks a lot\n3,ok\n")
    out = tmp_path / "out.csv"
    with FakeOpenAI(keyword_responder({"thank": "Gratitude"})) as server:
        args = ["classify", bad, "--out", out, "--backend", "openai", "--model", "m", "--base-url", server.url]
        one_line_error(cli(*args), "in.csv line 2")
        assert server.count == 0  # refused before any request
        r = cli(*args, "--bad-lines", "skip")
    assert r.code == 0, r.err
    assert "malformed lines skipped" in r.err
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df["id"]) == ["2", "3"] and list(df["text"]) == ["thanks a lot", "ok"]
    manifest = json.loads((tmp_path / "out.csv.manifest.json").read_text())
    assert manifest["counts"]["skipped_lines"] == 1
    assert manifest["input"]["table"] == {"format": "csv", "rows": 2, "encoding": "utf-8", "sep": ",",
                                          "skipped_lines": 1, "skipped_at": [2]}


def test_an_unbalanced_quote_is_an_error_not_a_swallowed_file(cli, tmp_path):
    bad = write(tmp_path / "q.csv", 'id,text\n1,ok\n2,"never closed\n3,bye\n4,ok\n')
    one_line_error(cli("preprocess", bad, "--out", tmp_path / "o.csv"), "q.csv line 3", "never closes")


def test_jsonl_bad_lines_name_the_line_or_are_skipped(cli, tmp_path):
    bad = write(tmp_path / "in.jsonl", '{"id": 1, "text": "a"}\n[1, 2]\n{"id": 3, "text": "c"\n'
                                       '{"id": null, "text": "d"}\n')
    one_line_error(cli("preprocess", bad, "--out", tmp_path / "o.jsonl"), "in.jsonl line 2", "list")
    r = cli("preprocess", bad, "--out", tmp_path / "o.jsonl", "--bad-lines", "skip")
    assert r.code == 0, r.err and "skipped 2 malformed line(s) (line 2, 3)" in r.err
    back = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [x["id"] for x in back] == [1, None]  # whole numbers with a gap stay whole (not 1.0)


def test_reader_matches_pandas_on_the_papers_csvs(paper_dir):
    for path in sorted(paper_dir.glob("*.csv")):
        ours = tables.read_table(path)
        theirs = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
        pd.testing.assert_frame_equal(ours, theirs, obj=path.name)


# ---------------------------------------------------------------- item 5: compression and formats

OPENERS = {"": open, ".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def _independent_read(path: Path, fmt: str) -> pd.DataFrame:
    """pandas and the standard library's decompressors, not emocause."""
    if path.suffix == ".zst":
        import zstandard

        data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
    else:
        with OPENERS.get(path.suffix if path.suffix in OPENERS else "", open)(path, "rb") as f:
            data = f.read()
    import io

    if fmt in ("csv", "tsv"):
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, sep="\t" if fmt == "tsv" else ",")
    if fmt == "jsonl":
        return pd.read_json(io.BytesIO(data), lines=True, dtype=False)
    if fmt == "json":
        return pd.DataFrame(json.loads(data))
    return pd.read_parquet(io.BytesIO(data))


CASES = [(fmt, comp) for fmt in ("csv", "tsv", "jsonl", "json", "parquet")
         for comp in ("", ".gz", ".bz2", ".xz", ".zst") if not (fmt == "parquet" and comp)]


@pytest.mark.parametrize(("fmt", "comp"), CASES)
def test_round_trip_every_format_and_compression(cli, tmp_path, fmt, comp):
    src = write(tmp_path / "in.csv", 'id,body\n007,"Thanks @bob, see https://x.org ""now""\nbye"\n2,naïve;tab\there\n')
    out = tmp_path / f"out.{fmt}{comp}"
    r = cli("preprocess", src, "--out", out)
    assert r.code == 0, r.err
    independent = _independent_read(out, fmt)  # really compressed, really that format
    assert list(independent["text"]) == ["Thanks [USER], see [URL] \"now\"\nbye", "naïve;tab\there"]
    again = tmp_path / f"again.{fmt}{comp}"
    r = cli("preprocess", out, "--out", again, "--text-col", "text")  # emocause reads its own output
    assert r.code == 0, r.err
    ours = tables.read_table(again)
    assert [str(x) for x in ours["id"]] == ["007", "2"]  # ids stay as written in every format
    assert list(ours["text"]) == list(independent["text"])


def test_gzip_output_is_reproducible_and_names_no_temp_file(tmp_path):
    df = pd.DataFrame({"a": ["x", "y"]})
    tables.write_table(df, tmp_path / "a.csv.gz")
    tables.write_table(df, tmp_path / "b.csv.gz")
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()
    assert b".tmp" not in (tmp_path / "a.csv.gz").read_bytes()


def test_a_file_that_is_not_what_its_extension_says_is_one_line(cli, tmp_path):
    fake = write(tmp_path / "in.csv.gz", RAGGED)
    one_line_error(cli("preprocess", fake, "--out", tmp_path / "o.csv"), "in.csv.gz", "cannot decompress")
    one_line_error(cli("preprocess", fake, "--out", tmp_path / "o.parquet.gz"), "Parquet compresses internally")
    hidden = tmp_path / "plain.csv"
    hidden.write_bytes(gzip.compress(b"id,body\n1,hi\n"))  # gzip without .gz: read by its magic
    assert cli("preprocess", hidden, "--out", tmp_path / "o.csv").code == 0


def test_parquet_of_mixed_type_columns_never_crashes(cli, tmp_path):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "n": [1, "x", None], "d": [{"k": 1}, "s", None],
                          "l": [[1], ["a", 2], None], "big": [2**70, 1, None]})
    with pytest.raises(Exception) as crash:  # what every command did after all its work
        frame.to_parquet(tmp_path / "pandas.parquet")
    assert "Arrow" in type(crash.value).__name__
    tables.write_table(frame, tmp_path / "ok.parquet")
    back = pd.read_parquet(tmp_path / "ok.parquet")

    def cells(col: str) -> list:
        return [None if pd.isna(x) else x for x in back[col]]

    assert cells("n") == ["1", "x", None]  # missing stays missing
    assert cells("d") == ['{"k": 1}', "s", None]
    assert cells("l") == ["[1]", '["a", 2]', None]
    assert cells("big") == [str(2**70), "1", None]
    # the same through a command: a JSONL whose `extra` mixes numbers and text
    src = write(tmp_path / "in.jsonl", '{"id": 1, "body": "hi", "extra": 5}\n{"id": 2, "body": "yo", "extra": "x"}\n')
    r = cli("preprocess", src, "--out", tmp_path / "out.parquet")
    assert r.code == 0, r.err
    assert list(pd.read_parquet(tmp_path / "out.parquet")["extra"]) == ["5", "x"]


# ---------------------------------------------------------------- issue 10 item 12: empty outputs

def test_empty_outputs_keep_their_columns(cli, tmp_path):
    src = write(tmp_path / "in.csv", "id,body,extra\n")
    for name in ("o.csv", "o.parquet", "o.jsonl", "o.json", "o.csv.gz"):
        r = cli("preprocess", src, "--out", tmp_path / name)
        assert r.code == 0, r.err
    assert (tmp_path / "o.csv").read_text() == "id,body,extra,text\n"
    assert list(pd.read_parquet(tmp_path / "o.parquet").columns) == ["id", "body", "extra", "text"]
    assert list(tables.read_table(tmp_path / "o.csv.gz").columns) == ["id", "body", "extra", "text"]
    assert (tmp_path / "o.jsonl").read_bytes() == b""
    assert tables.read_table(tmp_path / "o.jsonl").shape == (0, 0)
    assert tables.read_table(tmp_path / "o.json").shape[0] == 0
    assert len(tables.read_table(tmp_path / "o.parquet")) == 0


# ---------------------------------------------------------------- separators and encodings

@pytest.mark.parametrize(("name", "text", "extra"), [
    ("semi.csv", "id;body\n1;hello, world\n2;bye\n", []),
    ("tab.csv", "id\tbody\n1\thello, world\n2\tbye\n", []),
    ("tab.tsv", "id\tbody\n1\thello, world\n2\tbye\n", []),
    ("pipe.csv", "id|body\n1|hello, world\n2|bye\n", ["--sep", "|"]),
    ("tab2.csv", "id\tbody\n1\thello, world\n2\tbye\n", ["--sep", "\\t"]),
])
def test_separators_are_detected_or_given(cli, tmp_path, name, text, extra):
    r = cli("preprocess", write(tmp_path / name, text), "--out", tmp_path / "o.csv", *extra)
    assert r.code == 0, r.err
    out = pd.read_csv(tmp_path / "o.csv", dtype=str)
    assert list(out["body"]) == ["hello, world", "bye"] and list(out["id"]) == ["1", "2"]


def test_a_bad_sep_is_one_line(cli, tmp_path):
    src = write(tmp_path / "in.csv", "id,body\n1,a\n")
    one_line_error(cli("preprocess", src, "--out", tmp_path / "o.csv", "--sep", ";;"), "--sep")


def test_non_utf8_input_is_detected_or_given(cli, tmp_path):
    text = "id;body\n1;The café was closed, the naïve résumé didn’t help\n2;Größe\n"
    src = write(tmp_path / "in.csv", text.encode("cp1252"))
    r = cli("preprocess", src, "--out", tmp_path / "o.csv")
    assert r.code == 0, r.err
    assert "not UTF-8; read as cp1252 (detected" in r.err
    assert list(pd.read_csv(tmp_path / "o.csv", dtype=str)["body"]) == [
        "The café was closed, the naïve résumé didn’t help", "Größe"]
    r = cli("preprocess", src, "--out", tmp_path / "o2.csv", "--encoding", "latin-1")
    assert r.code == 0, r.err and "detected" not in r.err
    assert pd.read_csv(tmp_path / "o2.csv", dtype=str)["body"][1] == "Größe"
    one_line_error(cli("preprocess", src, "--out", tmp_path / "o3.csv", "--encoding", "utf-8"),
                   "in.csv line 2", "not valid utf-8")
    one_line_error(cli("preprocess", src, "--out", tmp_path / "o3.csv", "--encoding", "klingon"),
                   "unknown encoding")
    u16 = write(tmp_path / "u16.csv", codecs.BOM_UTF16_LE + "id\tbody\n1\tcafé\n".encode("utf-16-le"))
    assert cli("preprocess", u16, "--out", tmp_path / "o4.csv").code == 0
    assert pd.read_csv(tmp_path / "o4.csv", dtype=str)["body"][0] == "café"
    bom = write(tmp_path / "bom.csv", codecs.BOM_UTF8 + b"id,body\n1,x\n")
    assert list(tables.read_table(bom).columns) == ["id", "body"]


# ---------------------------------------------------------------- stdin and stdout

def _run(args: list[str], stdin: bytes, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EMOCAUSE_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", "emocause", *args], input=stdin, capture_output=True,
                          cwd=cwd, env=env, timeout=120)


def test_dash_reads_stdin_and_writes_stdout_with_the_manifest_on_stderr(tmp_path):
    import io

    p = _run(["preprocess", "-", "--out", "-"], b"id;body\n1;hi @bob\n2;bye\n", tmp_path)
    assert p.returncode == 0, p.stderr
    out = pd.read_csv(io.BytesIO(p.stdout), dtype=str)
    assert list(out["text"]) == ["hi [USER]", "bye"]
    manifest = [x for x in p.stderr.decode().splitlines() if x.startswith("manifest: {")]
    assert len(manifest) == 1 and json.loads(manifest[0][10:])["table"]["sep"] == ";"
    assert list(tmp_path.iterdir()) == []  # no "-" file, no "-.manifest.json"
    p = _run(["preprocess", "-", "--out", str(tmp_path / "o.jsonl")],
             gzip.compress(b'{"id": 1, "body": "x @y"}\n'), tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "o.jsonl").read_text())["text"] == "x [USER]"
    p = _run(["preprocess", "-", "--out", "-"], RAGGED.encode(), tmp_path)
    assert p.returncode == 2 and p.stderr.decode().startswith("error: <stdin> line 2:")


# ---------------------------------------------------------------- item 9: escape codes from headers

def test_escape_codes_in_headers_and_names_reach_the_terminal_clean(cli, tmp_path):
    src = write(tmp_path / "in.csv", "id,\x1b]0;owned\x07\x1b[2Jbody\x9b31m\n1,hi\n")
    r = cli("classify", src, "--out", tmp_path / "o.csv")
    one_line_error(r, "cannot find the text column", "body")
    assert not any(c in r.err for c in "\x1b\x07\x9b")
    weird = write(tmp_path / "in\x1b[2J.csv", "id,body\n1,hello, there\n2,x\n")
    r = cli("preprocess", weird, "--out", tmp_path / "o.csv", "--bad-lines", "skip")
    assert r.code == 0 and "skipped 1 malformed" in r.err and "\x1b" not in r.err


def test_options_validate():
    assert tables.TableOptions(sep="tab").sep == "\t"
    assert tables.TableOptions(encoding="LATIN1").encoding == "iso8859-1"
    with pytest.raises(UsageError):
        tables.TableOptions(bad_lines="ignore")


def test_a_pipe_is_read_once_and_a_device_is_refused(cli, tmp_path):
    import threading

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b"id;body\n1;hi @bob\n"))
    writer.start()
    r = cli("preprocess", fifo, "--out", tmp_path / "o.csv")
    writer.join(10)
    assert r.code == 0, r.err
    assert list(pd.read_csv(tmp_path / "o.csv", dtype=str)["text"]) == ["hi [USER]"]
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    one_line_error(cli("preprocess", tmp_path / "zero.csv", "--out", tmp_path / "o2.csv"), "not a regular file")


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write to; root ignores modes, so it is also made immutable."""
    import shutil
    import stat

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    immutable = False
    if os.geteuid() == 0:
        immutable = bool(shutil.which("chattr")) and subprocess.run(
            ["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if not immutable:
            folder.chmod(0o755)
            pytest.skip("running as root on a file system without chattr +i")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


def test_an_unwritable_output_folder_is_one_line_before_any_work(cli, tmp_path, read_only_dir):
    src = write(tmp_path / "in.csv", "id,text\n1,hello\n")
    with FakeOpenAI() as server:
        r = cli("classify", src, "--out", read_only_dir / "o.csv", "--backend", "openai", "--model", "m",
                "--base-url", server.url)
        one_line_error(r, "is not writable")
        assert server.count == 0
    one_line_error(cli("preprocess", src, "--out", read_only_dir / "sub" / "o.csv.gz"), "is not writable")
    with pytest.raises(UsageError, match="cannot write"):  # and a write that fails anyway is one line
        tables.write_table(pd.DataFrame({"a": [1]}), read_only_dir / "x.parquet")


def test_the_python_api_example_runs(capsys):
    from tests.docs import run_blocks, section_blocks

    (block,) = section_blocks("Tables: read_table, load_table and write_table")
    run_blocks([block])
    out = capsys.readouterr().out
    assert "; (2,) [{'id': '2', 'text': 'thanks, that fixed it'}]" in out and "True ['5', 'x']" in out
