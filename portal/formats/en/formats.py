"""
English date formats for the portal: "12 February 2021", "6:00 p.m.", as residents read
dates in the city's own publications, not Django's US default ("Feb. 12, 2021").
https://docs.djangoproject.com/en/5.2/topics/i18n/formatting/#creating-custom-format-files
"""

DATE_FORMAT = "j F Y"
TIME_FORMAT = "g:i a"
DATETIME_FORMAT = "j F Y, g:i a"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, g:i a"
FIRST_DAY_OF_WEEK = 0
