"""Where comments come from: GitHub issues and pull requests, mailing-list archives.

Every source produces the same record shape (:mod:`emocause.sources.records`,
documented in ``docs/records.md``) and follows one contract
(:class:`emocause.sources.session.Source`: yield batches of records with stable
ids and the cursors that let it resume), so a scraped table feeds
``emocause classify``, ``causes`` and ``report`` whatever its origin.

Modules: ``api`` (the library functions ``scrape_github``, ``scrape_mbox``,
``scrape_pipermail``, ``scrape_hyperkitty``), ``session`` (the contract and
the one run that commits, exports and writes the manifest), ``records`` (the
shape, pure builders), ``github`` (REST client and repository source),
``mail/`` (message decoding, archive files, remote months, the mail sources),
``store`` (SQLite state beside the output), ``http`` (deadlines, size caps,
retries and paging guards shared by the web sources), ``preprocess`` (text as
the labeled dataset wrote it).
"""
