"""pharmsim: drug-receptor pharmacology simulator (kratom alkaloids at mu and delta opioid receptors).

For teaching and research, not dosing advice. The public API is re-exported here; see the README.
"""

from . import (
    notebook,
    validate,  # callable: pharmsim.validate(out) runs the validation report (pharmsim.qualification)
)
from ._version import __version__
from .binding import equilibrium_occupancy, kinetic_occupancy, make_nodes, stage_times
from .catalog import Catalog, catalog
from .comparison import (
    Comparison,
    Findings,
    ceiling_table,
    compare_with_full_agonist,
    comparison_study,
    displacement_summary,
    displacement_table,
    study_findings,
)
from .dosing import Doses, EventTable, dose, dose_list, infusion, molar_mass_of, read_event_table, regimen, reset
from .events import cmt_map_of, from_doses
from .fit import (
    FitParameter,
    FitResult,
    IdentifiabilityWarning,
    ParameterEstimate,
    PKPredictor,
    fit_hill,
    fit_operational,
    fit_pk_profiles,
    fit_profiles,
    fit_statistics,
    pk_predictor,
)
from .library import Compound, Library, Parameter, load_library
from .linear import Inputs, iter_linear, solve_linear
from .model import Model, build_model, compose, default_endpoint
from .nca import NCAResult, accumulation_ratio_observed, accumulation_ratio_predicted, auc_interval, nca, nca_table
from .pk import CompoundPK, Conversion, Enzyme, ParamInfo, PKModel, Route, combine, parameter_table, state_table
from .plots import occupancy_curves, response_curves, study_figures, style_axes, time_course
from .population import (
    CYP3A4_LEVELS,
    HEPATIC_LEVELS,
    CovariateEffects,
    Covariates,
    Population,
    apply_population,
    covariate_effects,
    plot_bands,
    population_parameters,
    summarize,
    tidy_from_array,
)
from .products import Product, product_doses
from .receptor import (
    Endpoint,
    K_A_from_ec50,
    Ligand,
    affinity_table,
    antagonist_shifted_ec50,
    endpoint_ec50_emax,
    endpoint_response,
    furchgott_tau,
    gaddum_occupancy,
    hill_occupancy,
    operational_ec50_emax,
    operational_mixture,
    operational_response,
    response_from_occupancy,
    schild_dose_ratio,
    tau_at,
    tau_from_emax,
)
from .residual import ResidualError
from .result import Result, Series
from .sbml import sbml_ids, to_antimony, to_sbml
from .scenario import check as check_scenario
from .scenario import load as load_scenario
from .scenario import loads as loads_scenario
from .scenario import shipped_scenario_path, shipped_scenarios
from .schedule import CovariateChange, ParameterSchedule
from .sensitivity import Metric, Range, SensitivityResult, default_metrics, morris, sobol, tornado
from .solve import OUTPUT_QUANTITIES, Outputs, PKSolution, simulate, solve_pk
from .sources import SourceBands, SourceKey, across_sources, source_candidates
from .study import Arm, ModelOptions, PopulationSpec, Study, StudyResult, run_study
from .style import STYLES, Style, arm_linestyle, compound_colour, get_style
from .titration import (
    TitrationProtocol,
    TitrationResult,
    closed_form_simulator,
    model_simulator,
    plot_dose_trajectories,
    plot_final_doses,
    titrate,
)
from .tolerance import (
    MECHANISMS,
    ToleranceParams,
    criterion_shift,
    ec50_fold_shift,
    simulate_tolerance,
    steady_state_desensitisation,
)
from .units import convert, mg_to_nmol, ng_per_mL_to_nM, nM_to_ng_per_mL, nmol_to_mg
from .validate import PharmsimError


def __getattr__(name):
    if name == "FORMS":   # the product forms of the shipped library, read on first use
        from .products import __getattr__ as _products_getattr

        return _products_getattr(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DISCLAIMER = (
    "pharmsim is for teaching and research only, not dosing advice: its numbers come from published "
    "studies of small groups, animals and cells, and from stated assumptions."
)

__all__ = [
    "FitParameter",
    "FitResult",
    "IdentifiabilityWarning",
    "ParameterEstimate",
    "PKPredictor",
    "fit_hill",
    "fit_operational",
    "fit_pk_profiles",
    "fit_profiles",
    "fit_statistics",
    "pk_predictor",
    "sbml_ids",
    "to_antimony",
    "to_sbml",
    "Metric",
    "Range",
    "SensitivityResult",
    "default_metrics",
    "morris",
    "sobol",
    "tornado",
    "SourceBands",
    "SourceKey",
    "across_sources",
    "source_candidates",
    "__version__",
    "DISCLAIMER",
    # errors, units, library
    "PharmsimError",
    "validate",
    "convert",
    "mg_to_nmol",
    "nmol_to_mg",
    "ng_per_mL_to_nM",
    "nM_to_ng_per_mL",
    "load_library",
    "Library",
    "Compound",
    "Parameter",
    # receptor theory and curves
    "Ligand",
    "Endpoint",
    "tau_at",
    "hill_occupancy",
    "gaddum_occupancy",
    "operational_response",
    "operational_mixture",
    "response_from_occupancy",
    "endpoint_response",
    "operational_ec50_emax",
    "endpoint_ec50_emax",
    "tau_from_emax",
    "K_A_from_ec50",
    "schild_dose_ratio",
    "antagonist_shifted_ec50",
    "furchgott_tau",
    "affinity_table",
    "occupancy_curves",
    "response_curves",
    "style_axes",
    # PK
    "Inputs",
    "solve_linear",
    "iter_linear",
    "Route",
    "CompoundPK",
    "Conversion",
    "Enzyme",
    "ParamInfo",
    "PKModel",
    "PKSolution",
    "solve_pk",
    "combine",
    "state_table",
    "parameter_table",
    "Doses",
    "EventTable",
    "dose",
    "dose_list",
    "regimen",
    "reset",
    "cmt_map_of",
    "from_doses",
    "ResidualError",
    "infusion",
    "read_event_table",
    "molar_mass_of",
    "FORMS",
    "Product",
    "product_doses",
    "NCAResult",
    "nca",
    "nca_table",
    "auc_interval",
    "accumulation_ratio_predicted",
    "accumulation_ratio_observed",
    # binding, tolerance, the model
    "equilibrium_occupancy",
    "kinetic_occupancy",
    "make_nodes",
    "stage_times",
    "ToleranceParams",
    "simulate_tolerance",
    "steady_state_desensitisation",
    "MECHANISMS",
    "ec50_fold_shift",
    "criterion_shift",
    "Catalog",
    "catalog",
    "Model",
    "build_model",
    "compose",
    "default_endpoint",
    "simulate",
    "Outputs",
    "OUTPUT_QUANTITIES",
    "Result",
    "Series",
    "time_course",
    "study_figures",
    # how figures look: one colour per compound, arms by line style, named styles
    "STYLES",
    "Style",
    "arm_linestyle",
    "compound_colour",
    "get_style",
    "notebook",
    # the comparison the package exists for
    "Comparison",
    "compare_with_full_agonist",
    "comparison_study",
    "ceiling_table",
    "displacement_table",
    "displacement_summary",
    "Findings",
    "study_findings",
    # populations, interactions, titration
    "Population",
    "Covariates",
    "CovariateChange",
    "ParameterSchedule",
    "CovariateEffects",
    "covariate_effects",
    "CYP3A4_LEVELS",
    "HEPATIC_LEVELS",
    "apply_population",
    "population_parameters",
    "summarize",
    "tidy_from_array",
    "plot_bands",
    "TitrationProtocol",
    "TitrationResult",
    "titrate",
    "closed_form_simulator",
    "model_simulator",
    "plot_dose_trajectories",
    "plot_final_doses",
    # studies and scenario files
    "Arm",
    "ModelOptions",
    "PopulationSpec",
    "Study",
    "StudyResult",
    "run_study",
    "check_scenario",
    "load_scenario",
    "loads_scenario",
    "shipped_scenarios",
    "shipped_scenario_path",
]
