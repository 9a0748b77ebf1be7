"""Every log record of every logger, whatever its level, handlers or propagation."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator


@contextlib.contextmanager
def every_log_record() -> Generator[list[logging.LogRecord]]:
    """Enable DEBUG on every logger and collect each record as it is made.

    Records are taken from the record factory, so a logger that does not propagate, or whose
    handlers filter, is seen too; loggers made while the block runs log at DEBUG as well.
    """
    records: list[logging.LogRecord] = []
    make = logging.getLogRecordFactory()

    def collect(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        records.append(record)
        return record

    loggers = [
        logging.getLogger(),
        *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict)),
    ]
    levels = [(logger, logger.level, logger.disabled) for logger in loggers]
    logging.setLogRecordFactory(collect)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    try:
        yield records
    finally:
        logging.setLogRecordFactory(make)
        for logger, level, disabled in levels:
            logger.setLevel(level)
            logger.disabled = disabled


def shown(records: list[logging.LogRecord]) -> list[str]:
    """Each record as a handler would write it: logger name, message and any traceback."""
    texts: list[str] = []
    for record in records:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r}"
        texts.append(text)
    return texts
