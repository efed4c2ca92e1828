"""Every registered recommender passes the shared behavioural suite."""

from llmseqrec.registry import all_recommenders
from llmseqrec.testing import parametrize_with_checks


def _instances():
    # The library's own recommenders: test modules register helpers of their own (e.g.
    # test_hybrids' _FixedScores), which would otherwise join the suite when their module
    # happens to be imported first.
    for cls in all_recommenders().values():
        if not cls.__module__.startswith("llmseqrec."):
            continue
        make = getattr(cls, "_testing_instances", None)
        yield from (make() if make else [cls()])


def _expected_failures(estimator):
    # A class attribute, or a property when the opt-outs depend on the instance's parameters.
    return dict(getattr(estimator, "_expected_failed_checks", {}))


@parametrize_with_checks(list(_instances()), expected_failed_checks=_expected_failures)
def test_recommender_contract(estimator, check):
    check(estimator)
