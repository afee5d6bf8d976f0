"""pm25-forecast: tomorrow's daily-mean PM2.5 from lagged pollution and weather."""

__version__ = "0.1.0"
