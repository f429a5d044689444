"""Records with names: enums, named accessors on frozen records, and keeping only some records."""

from __future__ import annotations

import numpy as np
from conftest import make_scenario

from ips_sim.runner.experiment import run_replications
from ips_sim.sim.records import EXIT_REASONS, JOB_END_REASONS, WEEK_COLUMNS, ExitReason, FrozenRecords, JobEnd

NAN = float("nan")


def hand_records() -> FrozenRecords:
    """Three jobs and two vacancies, small enough to check by hand."""
    job = {
        "member_id": np.array([0, 1, 2]),
        "job_number": np.array([1, 1, 1]),
        "start_day": np.array([10.0, 20.0, 30.0]),
        "end_day": np.array([15.0, NAN, NAN]),               # ended; censored at exit; still going
        "hours_per_week": np.full(3, 20.0),
        "hourly_wage": np.full(3, 10.0),
        "preference_match": np.array([True, False, True]),
        "end_reason": np.array([JobEnd.FIRED, JobEnd.LEFT_SERVICES_WHILE_WORKING, JobEnd.ONGOING], np.int8),
        "observed_until_day": np.array([15.0, 25.0, 100.0]),
    }
    member = {"member_id": np.arange(3), "exit_reason": np.array([ExitReason.NONE, ExitReason.STEPPED_DOWN,
                                                                 ExitReason.NONE], np.int8),
              "enrollment_day": np.array([5.0, NAN, 50.0])}
    vacancy = np.array([[0, 10.0, 40.0], [1, 90.0, 100.0]])
    week = np.zeros((2, len(WEEK_COLUMNS)))
    week[:, 0] = [0.0, 7.0]
    week[:, WEEK_COLUMNS.index("in_post")] = [1.0, 0.0]
    week[:, WEEK_COLUMNS.index("employer_contacts")] = [6.0, 0.0]
    return FrozenRecords(0, 100.0, member, job, week, np.zeros((0, 4)), vacancy)


def test_job_stop_day_and_ended():
    rec = hand_records()
    assert rec.job_stop_day().tolist() == [15.0, 25.0, 100.0]
    assert rec.job_ended().tolist() == [True, False, False]
    assert rec.job_end_is(JobEnd.LEFT_SERVICES_WHILE_WORKING).tolist() == [False, True, False]


def test_vacancy_days_in_a_window():
    rec = hand_records()
    # [10, 40] clipped to [20, 95]: 20 days; [90, 100] clipped: 5 days.
    assert rec.vacancy_days(20.0, 95.0) == 25.0
    assert rec.vacancy_days(0.0, 100.0) == 40.0
    assert rec.vacancy_days(41.0, 89.0) == 0.0
    # Several windows at once (a budget's years): one total each, the same as one by one.
    assert rec.vacancy_days([20.0, 0.0, 41.0], [95.0, 100.0, 89.0]).tolist() == [25.0, 40.0, 0.0]


def test_members_and_weeks_by_name():
    rec = hand_records()
    assert rec.exit_is(ExitReason.STEPPED_DOWN).tolist() == [False, True, False]
    assert rec.enrolled_from(5.0).tolist() == [True, False, True]
    w = rec.weeks(in_post_only=True)
    assert w["day"].tolist() == [0.0] and w["employer_contacts"].tolist() == [6.0]
    assert rec.weeks(5.0)["day"].tolist() == [7.0]


def test_enum_labels_are_the_table_vocabulary():
    assert EXIT_REASONS == ("disengaged", "stepped_down", "gave_up_waiting", "discharged_no_job")
    assert JOB_END_REASONS == ("quit", "fired", "temporary_job_ended", "laid_off")
    assert JobEnd.LEFT_SERVICES_WHILE_WORKING.label == "left_services_while_working"
    assert JobEnd.ONGOING.label == "" and ExitReason.NONE.label == ""


def test_run_keeps_records_of_the_first_n_only_and_metrics_do_not_change():
    sc = make_scenario({"simulation.horizon_years": 3, "simulation.warmup_years": 1})
    all_metrics, all_records = run_replications(sc, 4, seed=3, keep_records=True)
    metrics, records = run_replications(sc, 4, seed=3, keep_records=2)
    assert [r is not None for r in records] == [True, True, False, False]
    assert metrics == all_metrics
    assert np.array_equal(records[1].week, all_records[1].week)
