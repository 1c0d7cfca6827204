import sqlite3
import threading

from emocause.annotate.cache import Cache, make_key


def test_cache_roundtrip_wal_stats_and_clear(tmp_path):
    c = Cache(tmp_path / "c.sqlite")
    k1 = make_key("openai", "gpt-4", {"temperature": 0.0}, "prompt one")
    k2 = make_key("openai", "gpt-4", {"temperature": 0.5}, "prompt one")
    assert k1 != k2 and k1 == make_key("openai", "gpt-4", {"temperature": 0.0}, "prompt one")
    c.put(k1, "openai", "gpt-4", {"temperature": 0.0}, "prompt one", "Joy",
          {"prompt_tokens": 10, "completion_tokens": 1}, 0.2)
    c.put(make_key("hf", "t5", {}, "p"), "hf", "t5", {}, "p", "Anger")
    assert c.get_many([k1, k2])[k1].response == "Joy"
    assert k2 not in c.get_many([k1, k2])
    mode = sqlite3.connect(tmp_path / "c.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    st = c.stats()
    assert st["entries"] == 2
    assert {(r["backend"], r["model"]) for r in st["by_model"]} == {("openai", "gpt-4"), ("hf", "t5")}
    assert c.clear(backend="hf") == 1 and c.stats()["entries"] == 1
    c.close()
    # committed immediately: a second connection sees it
    assert Cache(tmp_path / "c.sqlite").get_many([k1])[k1].response == "Joy"


def test_cache_is_thread_safe(tmp_path):
    c = Cache(tmp_path / "c.sqlite")

    def work(n):
        for i in range(50):
            c.put(make_key("b", "m", {}, f"{n}-{i}"), "b", "m", {}, f"{n}-{i}", "x")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert c.stats()["entries"] == 200
