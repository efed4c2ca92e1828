"""Every registered recommender passes the shared behavioural suite."""

from llmseqrec.registry import all_recommenders
from llmseqrec.testing import parametrize_with_checks


def _instances():
    for cls in all_recommenders().values():
        make = getattr(cls, "_testing_instances", None)
        yield from (make() if make else [cls()])


def _expected_failures(estimator):
    # A class attribute, or a property when the opt-outs depend on the instance's parameters.
    return dict(getattr(estimator, "_expected_failed_checks", {}))


@parametrize_with_checks(list(_instances()), expected_failed_checks=_expected_failures)
def test_recommender_contract(estimator, check):
    check(estimator)
