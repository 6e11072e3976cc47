"""The report's analysis: pandas functions that take DataFrames and return DataFrames or typed results."""

from reports.analysis.result import Analysis, Inputs, PeriodData, analyse

__all__ = ["Analysis", "Inputs", "PeriodData", "analyse"]
