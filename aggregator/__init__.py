"""Sina Finance feed aggregator and republisher."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/sina-aggregator/sina-aggregator"
