"""Where comments come from: GitHub issues and pull requests, mailing-list archives.

Every source produces the same record shape (:mod:`emocause.sources.records`,
documented in ``docs/records.md``) and writes it through one incremental,
resumable store (:mod:`emocause.sources.store`), so a scraped table feeds
``emocause classify``, ``causes`` and ``report`` whatever its origin.

Modules: ``records`` (the shape, pure builders), ``github`` (REST client and
repository scraper), ``mail`` (mbox, Pipermail, HyperKitty), ``store`` (SQLite
state beside the output), ``http`` (retry/backoff shared by the web sources).
"""
