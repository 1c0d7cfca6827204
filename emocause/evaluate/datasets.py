"""The public data sets of the paper: a registry of files with pinned URLs and SHA-256 checksums.

Every file is downloaded from a commit-pinned ``raw.githubusercontent.com``
URL, so its bytes cannot change under the recorded checksum; the checksums
were computed from the released files (the copies the paper's replication
package distributes).  A download is written to a temporary file beside its
target, hashed while it streams, and renamed into place only when the
SHA-256 matches; a mismatch leaves nothing behind.

``base_url`` (``--base-url`` or ``$EMOCAUSE_DATASETS_URL``) replaces every
URL by ``BASE/FILENAME``: a flat mirror such as a directory served over HTTP
(the tests serve ``../shared/data/paper`` from 127.0.0.1 this way).  A mirror
URL may carry credentials (``user:pass@``, ``?token=``): they are sent, but
every URL that is stored, printed or put in an error goes through
:func:`emocause.urls.redact_url` first.

Sizes are known, so a server is never believed beyond them: a
``Content-Length`` other than the file's size is refused before the body is
read, and a body that runs past the size is cut off at the first extra chunk.
The data directory is checked for writability before anything is downloaded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from emocause.errors import UsageError
from emocause.files import check_writable, file_sha256, write_error
from emocause.urls import check_http_url, redact_url

#: Environment variables: a mirror replacing the public URLs, and the default data directory.
ENV_BASE_URL = "EMOCAUSE_DATASETS_URL"
ENV_DATA_DIR = "EMOCAUSE_DATA_DIR"

_CAUSE_REPO = ("https://raw.githubusercontent.com/imranraad07/SE-Emotion-Cause-Replication/")
_PTM_REPO = ("https://raw.githubusercontent.com/imranraad07/SE_Emotion_PTM/"
             "12e071684d1148485377a7a4d0b8fa9ec9d88433/datasets/")
_JIRA_COMMIT = "a3cfb3fcfb6c8717206b98029fee18d33c369bb6"


@dataclass(frozen=True)
class RemoteFile:
    """One file: its name in the data directory, where it is published, its size and checksum."""

    name: str
    url: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    source: str            # who published it (citation) and where
    files: tuple[RemoteFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _cause(commit: str, path: str) -> str:
    return f"{_CAUSE_REPO}{commit}/{quote(path)}"


def _jira(emotion: str, split: str) -> str:
    return _cause(_JIRA_COMMIT, f"Emotion_Classification/datasets/JIRA - JIRA-{emotion}-{split}.csv")


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset(
        "github-emotions",
        "GitHub comments labelled with Shaver's six basic emotions (id, Text, six 0/1 columns); "
        "train 1,600 / test 400 rows, the test set the paper classifies",
        "Imran, Jain, Chatterjee, Damevski: Data Augmentation for Improving Emotion Recognition in "
        "Software Engineering Communication, ASE 2022 (github.com/imranraad07/SE-Emotion-Study); "
        "split as released in github.com/imranraad07/SE_Emotion_PTM",
        (RemoteFile("github-train.csv", _PTM_REPO + "github-train.csv", 306060,
                    "6549cc2cb2c560ab649e6a442108144d86c2a786a5f29060775cf2dec9dbf3e0"),
         RemoteFile("github-test.csv", _PTM_REPO + "github-test.csv", 83871,
                    "17fe08baa9f2dfc25386cf02fe4156840084e8760427ca777833ab57cc57bb8c"))),
    Dataset(
        "stackoverflow-emotions",
        "Stack Overflow posts labelled with six emotions (Text, six 0/1 columns); train 3,840 / test 960 rows",
        "Novielli, Calefato, Lanubile: A Gold Standard for Emotion Annotation in Stack Overflow, "
        "MSR 2018 (github.com/collab-uniba/EmotionDatasetMSR18); split as released in "
        "github.com/imranraad07/SE_Emotion_PTM",
        (RemoteFile("SOEmotion-Train.csv", _PTM_REPO + "SOEmotion-Train.csv", 726848,
                    "e66f9ffb68966474a52b31a98f44e126064423b09fb7145262717aeb7ba812df"),
         RemoteFile("SOEmotion-Test.csv", _PTM_REPO + "SOEmotion-Test.csv", 178356,
                    "71a8ec1cc7712f268d84e95beb22b354e2e54869850ed714ed3aa0c51039560e"))),
    Dataset(
        "jira-emotions",
        "JIRA issue comments, one binary train/test pair per emotion (text, label 0/1) for Anger, "
        "Joy, Love, Sadness; evaluate with --gold-col label=Anger etc.",
        "Ortu, Murgia, Destefanis, Tourani, Tonelli, Marchesi, Adams: The Emotional Side of "
        "Software Developers in JIRA, MSR 2016; split as released in the paper's replication "
        "package (github.com/vcu-swim-lab/SE-Emotion-Cause-Replication)",
        tuple(RemoteFile(f"JIRA-{e}-{s}.csv", _jira(e, s), size, sha) for e, s, size, sha in (
            ("Anger", "Train", 57316, "40c2da1532263519f76486ae1c38bd9c3ae508e2e0fe0f817cb52b639a7890dd"),
            ("Anger", "Test", 14063, "a63ecbd6e51ce25d4690879462944688e77350eafc2d0658fd6a8a06e9fcc89f"),
            ("Joy", "Train", 51396, "1b0ae1fcbb2f6511f43f583b4333b68236a3b186fa96fdce3ea0c237a323bfe7"),
            ("Joy", "Test", 13090, "4d1a06f9b65a933509ac01e799f19cd6953b0d7cca479f6497e20f7e8403d3fb"),
            ("Love", "Train", 51225, "825ff706931f2c0f4bb33442abdd4a72c2f93d31aaa7729a5845efd8eae5878f"),
            ("Love", "Test", 13331, "ba3fac6c054d043e734daaca5430ac8ed5fb1a25d59c46bb4e94a6890d1c691e"),
            ("Sadness", "Train", 68707, "8c9f4cf5bffbef249bc8c4df8125adcd53c80e8421478d32431f453754f1f0f2"),
            ("Sadness", "Test", 15222, "8d7a33c56692cbb77fc581fbaee4c759f049a4e95a4171ec5ad1724af7774f5c"),
        ))),
    Dataset(
        "emotion-causes",
        "The 450 GitHub comments with manually annotated emotion-cause spans (id, modified_comment, "
        "Cause Span) and the annotation instructions",
        "Imran, Chatterjee, Damevski: Uncovering the Causes of Emotions in Software Developer "
        "Communication Using Zero-shot LLMs, ICSE 2024; replication package "
        "github.com/vcu-swim-lab/SE-Emotion-Cause-Replication",
        (RemoteFile("manual_causes.csv",
                    _cause("01d8e61c8fb41f5bd19542e34f83b592440efa1d", "annotation/manual_causes.csv"),
                    93940, "7b70212a11fe4507aeb5997527ab67b6a717a4245eb50b81aecb65fbcd6ce844"),
         RemoteFile("annotation_instructions.pdf",
                    _cause("d89d9b85a8cd28d52f9b01796690ed97c172b34a", "annotation/Annotation Instructions.pdf"),
                    53706, "58f952b1b9099e5360dc78f94c28644d1010e816a02fe70bb3fe1d12025ac36e"))),
    Dataset(
        "paper-outputs",
        "The paper's released model outputs: cause spans of ChatGPT, GPT-4 and Flan-Alpaca-XL "
        "(causes.csv), granular-prompt emotion labels on the GitHub test set, and the clustering inputs",
        "Imran, Chatterjee, Damevski, ICSE 2024; replication package "
        "github.com/vcu-swim-lab/SE-Emotion-Cause-Replication",
        (RemoteFile("causes.csv", _cause("3f6548a4d55e91870abe720982ac85ebe1c743ea", "blue_score/causes.csv"),
                    172727, "bb238f79025166b302d9b7b5c98cc3b7ac6c3a87444de9159b24e4dfce186c32"),
         RemoteFile("github-test-granular-level-prompting.csv",
                    _cause("9b1bc7266dc4876cd3c05fb83a3a10d26ef270ed",
                           "Emotion_Classification/results-granular-level-prompting/"
                           "github-test-granular-level-prompting.csv"),
                    108498, "da3c1cd3a1f48fb3d8375fb62522b3521892fd1bbec0084e7d58965e3461455e"),
         RemoteFile("clusters.csv", _cause("9b5b61584cbafe324884057e39a94e00217c380a", "cluster/clusters.csv"),
                    40355, "aeb1f979c2d1085ea0587b84652ed9ef4730d7d2185ba8b890076e1912530e3a"),
         RemoteFile("filtered_contributors.csv",
                    _cause("c39fd5e9572af72d0fef7ae37edeb6a79515ab21", "cluster/filtered_contributors.csv"),
                    483294, "645f7ff9c8cceb0b4a3e165797aeb8160e7d90c80bd20383b356573585b4ac0b"))),
)}


def default_dir() -> Path:
    """``$EMOCAUSE_DATA_DIR``, else ``datasets/`` in the user data directory."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("emocause")) / "datasets"


def resolve(names: Iterable[str]) -> list[Dataset]:
    """Datasets by name (``all`` = every one), in registry order, each once."""
    wanted: list[str] = []
    for name in names:
        if name == "all":
            wanted.extend(DATASETS)
        elif name in DATASETS:
            wanted.append(name)
        else:
            raise UsageError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, all")
    if not wanted:
        raise UsageError(f"name a dataset: {', '.join(DATASETS)}, all")
    return [DATASETS[n] for n in dict.fromkeys(wanted)]


def file_url(f: RemoteFile, base_url: str | None) -> str:
    """Where to download ``f`` from: its public URL, or ``BASE/NAME`` on a mirror (its query kept)."""
    if base_url:
        parts = urlsplit(base_url)
        path = f"{parts.path.rstrip('/')}/{quote(f.name)}"
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return f.url


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class Fetched:
    dataset: str
    path: Path
    url: str
    status: str            # downloaded | present
    size: int
    sha256: str


def fetch_file(f: RemoteFile, dest: Path, base_url: str | None, client, force: bool = False,
               on_bytes: Callable[[int], None] | None = None) -> tuple[str, str]:
    """Make ``dest/f.name`` hold the verified file; returns (status, url without credentials).

    A file already there with the right checksum is kept (``present``) unless
    ``force``.  Network failures, a server sending more than ``f.size`` bytes and
    checksum mismatches raise one-line :class:`UsageError`s; nothing
    half-written is left behind.
    """
    import httpx

    target = dest / f.name
    url = file_url(f, base_url)
    shown = redact_url(url)
    if target.is_file() and not force and file_sha256(target) == f.sha256:
        if on_bytes:
            on_bytes(f.size)
        return "present", shown
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{f.name}.", suffix=".part", dir=dest)
    except OSError as exc:
        raise write_error(target, exc) from None
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            with client.stream("GET", url) as resp:
                if resp.status_code != 200:
                    raise UsageError(f"cannot download {f.name}: HTTP {resp.status_code} from {shown}")
                announced = resp.headers.get("Content-Length")
                if (announced is not None and announced.strip().isdigit() and int(announced) != f.size
                        and "Content-Encoding" not in resp.headers):
                    raise UsageError(f"cannot download {f.name}: {shown} announces {int(announced):,} bytes, "
                                     f"the file has {f.size:,}; nothing was saved")
                received = 0
                for chunk in resp.iter_bytes(1 << 16):
                    received += len(chunk)
                    if received > f.size:
                        raise UsageError(f"cannot download {f.name}: {shown} sent more than the file's "
                                         f"{f.size:,} bytes; stopped, nothing was saved")
                    out.write(chunk)
                    h.update(chunk)
                    if on_bytes:
                        on_bytes(len(chunk))
        digest = h.hexdigest()
        if digest != f.sha256:
            raise UsageError(f"checksum mismatch for {f.name} from {shown}: expected sha256 {f.sha256}, "
                             f"got {digest}; the file was not saved")
        os.replace(tmp, target)
    except httpx.TimeoutException as exc:
        raise UsageError(f"cannot download {f.name}: timed out reaching {_host(url)} "
                         f"({_one_line(exc)}); retry, or use a mirror with --base-url / ${ENV_BASE_URL}") from None
    except (httpx.TransportError, httpx.DecodingError) as exc:
        raise UsageError(f"cannot download {f.name}: cannot reach {_host(url)} ({redact_url(_one_line(exc))}); "
                         f"are you offline? use a mirror with --base-url / ${ENV_BASE_URL}") from None
    except OSError as exc:
        raise write_error(target, exc) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return "downloaded", shown


def _host(url: str) -> str:
    """host[:port] of a URL, never its credentials."""
    return urlsplit(redact_url(url)).netloc


def check_base_url(base_url: str | None) -> str | None:
    """A usable mirror URL (http or https, a host, a valid port), or one line saying why not."""
    if not base_url:
        return None
    return check_http_url(base_url, "--base-url", "http://127.0.0.1:8000/data/")


def fetch(datasets: Iterable[Dataset], dest: Path, base_url: str | None = None, force: bool = False,
          timeout: float = 60.0, on_bytes: Callable[[int], None] | None = None) -> list[Fetched]:
    """Download and verify every file of ``datasets`` into ``dest``.

    ``dest`` and ``base_url`` are checked before anything is downloaded.
    """
    import httpx

    base_url = check_base_url(base_url)
    check_writable(dest, "--dir", directory=True)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(dest, exc) from None
    out: list[Fetched] = []
    with httpx.Client(follow_redirects=True, timeout=timeout,
                      headers={"User-Agent": "emocause-datasets", "Accept-Encoding": "identity"}) as client:
        for ds in datasets:
            for f in ds.files:
                status, url = fetch_file(f, dest, base_url, client, force, on_bytes)
                out.append(Fetched(ds.name, dest / f.name, url, status, f.size, f.sha256))
    return out
