"""The client's Pacer on a clock the test moves: shared pause, in-flight limit, send rate (docs/reliability.md, "Pacing")."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._graph_client import (
    BATCH_LIMIT,
    PACE_CUBIC_C,
    PACE_RATE_DECREASE,
    Interruption,
    Pacer,
)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def sent(pacer, weight=BATCH_LIMIT):
    """A request that may start at once (the test moved the clock past any wait: the clock stands still in acquire)."""
    assert pacer.delay(weight, pacer._clock()) == 0.0  # pylint: disable=protected-access
    ticket, slept = pacer.acquire(weight)
    assert slept == 0.0
    return ticket


def answered(pacer, clock, seconds, accepted, throttled=0, retry_after=None, near_limit=None):
    """A request of ``accepted + throttled`` sent now and answered ``seconds`` later."""
    ticket = sent(pacer, accepted + throttled)
    clock.now += seconds
    pacer.record_answer(ticket, accepted, throttled, retry_after, near_limit)


def throttled_after_ten_seconds_at_20_a_second(pacer, clock, near_limit=None):
    for _second in range(10):
        answered(pacer, clock, 1.0, BATCH_LIMIT, near_limit=near_limit)
    answered(pacer, clock, 0.0, 0, BATCH_LIMIT)


def test_a_retry_after_holds_every_worker_not_only_the_one_that_got_it(clock):
    pacer = Pacer(4, clock=clock)
    throttled, other = sent(pacer), sent(pacer)
    pacer.record_answer(throttled, accepted=15, throttled=5, retry_after=2.0)
    assert pacer.delay(BATCH_LIMIT, clock.now) == pytest.approx(2.0)  # the next request of any worker
    pacer.record_answer(other, accepted=BATCH_LIMIT, throttled=0, retry_after=None)
    clock.now += 0.5
    assert pacer.delay(1, clock.now) == pytest.approx(1.5)
    assert pacer.snapshot()["paused_for"] == pytest.approx(1.5)
    clock.now += 1.5
    assert pacer.delay(1, clock.now) == 0.0


def test_a_longer_retry_after_extends_the_pause_a_shorter_one_does_not_shorten_it(clock):
    pacer = Pacer(4, clock=clock)
    first, second, third = sent(pacer), sent(pacer), sent(pacer)
    pacer.record_answer(first, 0, BATCH_LIMIT, 5.0)
    pacer.record_answer(second, 0, BATCH_LIMIT, 1.0)
    assert pacer.delay(1, clock.now) == pytest.approx(5.0)
    pacer.record_answer(third, 0, BATCH_LIMIT, 9.0)
    assert pacer.delay(1, clock.now) == pytest.approx(9.0)


def test_in_flight_limit_halves_on_a_throttling_event_and_grows_back_one_by_one(clock):
    pacer = Pacer(4, clock=clock)
    tickets = [sent(pacer) for _slot in range(4)]
    assert pacer.delay(1, clock.now) is None  # four out: the fifth waits for an answer
    pacer.record_answer(tickets[0], 10, 10, None)
    assert pacer.concurrency == 2 and pacer.events == 1
    for ticket in tickets[1:]:
        pacer.record_answer(ticket, BATCH_LIMIT, 0, None)  # sent before the slowdown: neither a new event nor a reason to grow
    assert pacer.events == 1 and pacer.concurrency == 2
    grown = []
    for _answer in range(5):
        answered(pacer, clock, 0.1, 1)
        grown.append(pacer.concurrency)
    assert grown == [2, 3, 3, 3, 4]  # one more after as many clean answers as are allowed in flight
    for _answer in range(10):
        answered(pacer, clock, 0.1, 1)
    assert pacer.concurrency == 4  # never above max_concurrency


def test_answers_to_requests_sent_before_a_slowdown_do_not_slow_down_again(clock):
    pacer = Pacer(8, clock=clock)
    for ticket in [sent(pacer) for _slot in range(4)]:
        pacer.record_answer(ticket, 0, BATCH_LIMIT, None)
    assert pacer.events == 1 and pacer.concurrency == 4
    answered(pacer, clock, 0.1, 0, BATCH_LIMIT)  # sent after it: a new event
    assert pacer.events == 2 and pacer.concurrency == 2


def test_no_rate_limit_until_graph_throttles_then_a_share_of_what_it_accepted(clock):
    pacer = Pacer(4, clock=clock)
    for _second in range(10):
        answered(pacer, clock, 1.0, BATCH_LIMIT)  # 20 accepted a second for 10 s
    assert pacer.rate() is None and pacer.delay(BATCH_LIMIT, clock.now) == 0.0
    answered(pacer, clock, 0.0, 0, BATCH_LIMIT)
    assert pacer.rate() == pytest.approx(PACE_RATE_DECREASE * 20.0)
    # Straight after the slowdown a full $batch waits for its share of the rate.
    assert pacer.delay(BATCH_LIMIT, clock.now) == pytest.approx(BATCH_LIMIT / (PACE_RATE_DECREASE * 20.0))


def test_the_rate_grows_back_along_cubic_slowly_near_the_old_rate_then_faster(clock):
    pacer = Pacer(4, clock=clock)
    throttled_after_ten_seconds_at_20_a_second(pacer, clock)
    plateau = (20.0 * (1 - PACE_RATE_DECREASE) / PACE_CUBIC_C) ** (1 / 3)  # seconds until back at 20 a second
    start, rates = clock.now, []
    for offset in (0.0, plateau / 2, plateau, plateau + 2, plateau + 4):
        clock.now = start + offset
        rates.append(pacer.rate())
    assert rates[0] == pytest.approx(14.0) and rates[2] == pytest.approx(20.0)
    assert rates == sorted(rates) and rates[4] - rates[3] > rates[3] - rates[2] > 0


def test_time_with_nothing_to_send_is_left_out_of_the_estimate_a_pause_is_not(clock):
    pacer = Pacer(4, clock=clock)
    for _second in range(5):
        answered(pacer, clock, 1.0, BATCH_LIMIT)
    clock.now += 60.0  # nothing to send: the module was busy elsewhere
    for _second in range(5):
        answered(pacer, clock, 1.0, BATCH_LIMIT)
    answered(pacer, clock, 0.0, 0, BATCH_LIMIT, retry_after=4.0)
    assert pacer.rate() == pytest.approx(PACE_RATE_DECREASE * 20.0)  # 200 in 10 s of work, not in 70 s
    clock.now += 4.0  # the pause Graph asked for: part of the rate it grants
    for _request in range(4):
        answered(pacer, clock, 10.0, BATCH_LIMIT)
    answered(pacer, clock, 0.0, 0, BATCH_LIMIT)
    assert pacer.events == 2 and pacer.rate() == pytest.approx(PACE_RATE_DECREASE * 4 * BATCH_LIMIT / 44.0)


def test_without_anything_accepted_a_429_pauses_and_halves_but_sets_no_rate(clock):
    pacer = Pacer(4, clock=clock)
    answered(pacer, clock, 0.0, 0, 1, retry_after=0.1)
    assert pacer.rate() is None and pacer.concurrency == 2
    clock.now += 0.1
    assert pacer.delay(1, clock.now) == 0.0


def test_the_rate_doubles_once_graph_stops_saying_the_app_is_near_its_limit(clock):
    pacer = Pacer(4, clock=clock)
    throttled_after_ten_seconds_at_20_a_second(pacer, clock, near_limit=True)
    clock.now += 1.0
    before = pacer.rate()
    answered(pacer, clock, 0.0, 5, near_limit=True)  # still near its limit: CUBIC alone
    assert pacer.rate() == pytest.approx(before)
    early = sent(pacer, 5)
    answered(pacer, clock, 0.0, 5, near_limit=False)  # room to spare: doubled
    assert pacer.rate() == pytest.approx(2 * before)
    pacer.record_answer(early, 5, 0, None, False)  # sent before that doubling: no second one for it
    assert pacer.rate() == pytest.approx(2 * before)
    clock.now += 1.0
    before = pacer.rate()
    answered(pacer, clock, 0.0, 5, near_limit=False)
    assert pacer.rate() == pytest.approx(2 * before)


def test_a_service_that_never_reports_its_limit_gets_no_doubling(clock):
    pacer = Pacer(4, clock=clock)
    throttled_after_ten_seconds_at_20_a_second(pacer, clock)
    clock.now += 1.0
    before = pacer.rate()
    answered(pacer, clock, 0.0, 5, near_limit=False)
    assert pacer.rate() == pytest.approx(before)


def test_once_interrupted_no_worker_gets_a_turn_even_while_paused(clock):
    interruption = Interruption(clock=clock)
    pacer = Pacer(4, clock=clock, interruption=interruption)
    ticket = sent(pacer)
    pacer.record_answer(ticket, accepted=0, throttled=BATCH_LIMIT, retry_after=30.0)  # every worker held 30 s
    interruption.stop("SIGTERM")
    assert pacer.acquire(BATCH_LIMIT) == (None, 0.0)  # at once, not after the pause
    assert pacer.snapshot()["concurrency"] >= 1 and pacer._in_flight == 0  # pylint: disable=protected-access
