"""Hmong date formats (Django ships none): day, month, year and a 12-hour clock, to be confirmed by the city's translators."""

DATE_FORMAT = "j F Y"
TIME_FORMAT = "g:i a"
DATETIME_FORMAT = "j F Y, g:i a"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
SHORT_DATE_FORMAT = "m/d/Y"
SHORT_DATETIME_FORMAT = "m/d/Y g:i a"
FIRST_DAY_OF_WEEK = 0
