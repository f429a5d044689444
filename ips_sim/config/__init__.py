"""The configuration layer: scenario files, their schema, defaults and validation.

What the rest of ips-sim needs from a scenario is imported from here
(``from ips_sim.config import Scenario, load_scenario``); the modules behind it
each hold one concern: ``fields`` (limits, dotted paths), ``calendar``,
``start_state`` (the program on day 0 and its members CSV), ``schema``,
``defaults`` (layered defaults from ``calibration/``), ``yaml_input``,
``loading`` (one-line errors), ``reference`` (the generated field reference),
``prices`` (the CPI table a price year is checked against) and ``workload``
(the work estimate before simulating).
"""

from ips_sim.config.calendar import MONTH_NAMES, add_months, months_between
from ips_sim.config.defaults import default_values, defaults_table, overlay_file, parse_value
from ips_sim.config.fields import (
    ACTIVITIES,
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    END_REASONS,
    MAX_COHORT,
    MAX_MONEY,
    MAX_REFERRALS_PER_MONTH,
    MAX_SCHEDULE_PERIODS,
    MAX_SEED,
    ScenarioError,
    get_dotted,
    set_dotted,
)
from ips_sim.config.loading import kind_of, load_scenario, load_scenarios, read_yaml_mapping, scenario_from_dict
from ips_sim.config.reference import START_FIELDS, FieldInfo, field_reference, reference_markdown
from ips_sim.config.schema import COST_MONEY_ITEMS, Scenario
from ips_sim.config.start_state import START_PHASES, Start, read_members_csv
from ips_sim.config.yaml_input import read_yaml_file, read_yaml_text, yaml_error_line
from ips_sim.core.paths import (
    DATA_SUFFIXES,
    PACKAGE_DATA,
    calibration_dir,
    read_csv_rows,
    refresh_package_data,
    repository_calibration_dir,
)

__all__ = [
    "ACTIVITIES", "COST_MONEY_ITEMS", "DATA_SUFFIXES", "DAYS_PER_MONTH", "DAYS_PER_YEAR", "END_REASONS",
    "MAX_COHORT", "MAX_MONEY", "MAX_REFERRALS_PER_MONTH", "MAX_SCHEDULE_PERIODS", "MAX_SEED", "MONTH_NAMES",
    "PACKAGE_DATA", "START_FIELDS", "START_PHASES", "FieldInfo", "Scenario", "ScenarioError", "Start",
    "add_months", "calibration_dir", "default_values", "defaults_table", "field_reference", "get_dotted",
    "kind_of", "load_scenario", "load_scenarios", "months_between", "overlay_file", "parse_value",
    "read_csv_rows", "read_members_csv",
    "read_yaml_file", "read_yaml_mapping", "read_yaml_text", "reference_markdown", "refresh_package_data",
    "repository_calibration_dir",
    "scenario_from_dict", "set_dotted", "yaml_error_line",
]
