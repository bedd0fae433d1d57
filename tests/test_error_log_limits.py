"""An uncaught error (a 500) is logged with its traceback once a minute per kind (red team R15 F6:
a 500 any signed-in user could repeat wrote 21 KB of traceback each time)."""

import logging

from mlgov_jupyter.server.connections import SameErrorPerMinute, quiet_exhaustion


def _raise(kind):
    raise kind("boom")


def test_one_traceback_a_minute_per_kind_of_error():
    logger = logging.getLogger("mlgov.test.errors")
    logger.propagate = False
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    keep, limit = Keep(), SameErrorPerMinute()
    logger.addHandler(keep)
    logger.addFilter(limit)
    try:
        for kind in (RecursionError,) * 50 + (KeyError,) * 3:
            try:
                _raise(kind)
            except Exception:
                logger.error("Uncaught exception GET /x", exc_info=True)
        logger.error("no exception: always logged")
        assert [r.count("Traceback") for r in records] == [1, 1, 0], records
        limit.seen = {k: (v[0] - 61, v[1]) for k, v in limit.seen.items()}  # a minute later
        try:
            _raise(RecursionError)
        except Exception:
            logger.error("Uncaught exception GET /x", exc_info=True)
        assert "(49 more like it in the last minute not logged)" in records[-1]
    finally:
        logger.removeHandler(keep)
        logger.removeFilter(limit)


def test_the_servers_install_it_on_tornados_application_logger():
    quiet_exhaustion()
    quiet_exhaustion()
    assert sum(isinstance(f, SameErrorPerMinute) for f in logging.getLogger("tornado.application").filters) == 1
