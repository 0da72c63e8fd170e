"""
The hostile payloads every public parameter, form field and admin box is tried with
(tests/test_hostile_input.py, tests/test_browser_hostile.py): what an attacker, a scanner
or a broken client sends.

A payload is either text (percent-encoded on the way, as a browser would) or a raw query
string (sent as written, for encodings no browser makes: `%ff`, `%00`, `%0d%0a`, `a[]=`);
`{name}` in a raw query stands for the parameter's name. `forbidden` lists what must never
appear verbatim in an HTML answer: the part of an XSS payload that would run if the page
printed it unescaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Payload:
    family: str
    name: str
    text: str | None = None
    raw: str | None = None
    forbidden: tuple[str, ...] = ()

    def query(self, parameter: str) -> str:
        """The query string that sends this payload as `parameter`."""
        if self.raw is not None:
            return self.raw.replace("{name}", parameter)
        assert self.text is not None
        return f"{parameter}={quote(self.text, safe='')}"

    @property
    def value(self) -> str:
        """The payload as a form field's value (a raw query's decoded value is not needed)."""
        assert self.text is not None, f"{self.name} is a raw query string, not a value"
        return self.text

    def __str__(self) -> str:
        return f"{self.family}:{self.name}"


def xss(name: str, text: str, *forbidden: str) -> Payload:
    return Payload("xss", name, text=text, forbidden=forbidden or (text,))


# Global names the browser test checks: a payload that ran would have set one of them.
PWNED = "__pwned"

XSS = [
    xss("script-tag", "<script>alert(1)</script>", "<script>alert"),
    xss("script-pwned", f"<script>window.{PWNED}=1</script>", f"<script>window.{PWNED}"),
    xss("img-onerror", f'<img src=x onerror="window.{PWNED}=1;alert(1)">', "<img src=x onerror"),
    xss("svg-onload", f"<svg onload=window.{PWNED}=1;alert(1)>", "<svg onload"),
    xss("svg-nested", "<svg><script>alert(1)</script></svg>", "<svg><script>"),
    xss("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>">', "<iframe srcdoc"),
    xss("details-ontoggle", "<details open ontoggle=alert(1)>", "<details open ontoggle"),
    xss("body-onload", "<body onload=alert(1)>", "<body onload"),
    xss("attr-breakout-double", f'" autofocus onfocus="window.{PWNED}=1;alert(1)', '" autofocus onfocus="'),
    xss("attr-breakout-single", "' autofocus onfocus='alert(1)", "' autofocus onfocus='"),
    xss("attr-breakout-tag", f'"><script>window.{PWNED}=1;alert(1)</script>', '"><script>'),
    xss("textarea-breakout", "</textarea><script>alert(1)</script>", "</textarea><script>"),
    xss("title-breakout", "</title><script>alert(1)</script>", "</title><script>"),
    xss("js-string-breakout", "';alert(1)//\\';alert(1)//</script>", "alert(1)//</script>"),
    xss("javascript-url", "javascript:alert(1)", 'href="javascript:', 'src="javascript:'),
    xss("javascript-url-case", "JaVaScRiPt:alert(1)", 'href="JaVaScRiPt:'),
    xss("data-url", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", 'href="data:text/html'),
    xss("template-django", "{{ 7777|add:7777 }}{% now 'Y' %}", "15554"),
    xss("template-curly", "{{7777*7777}}", "60481729"),
    xss("template-dollar", "${7777*7777}#{7777*7777}", "60481729"),
    xss("style-expression", "<style>*{background:url(javascript:alert(1))}</style>", "<style>*{"),
    xss(
        "meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', "<meta http-equiv"
    ),
    xss("html-comment-breakout", "--><script>alert(1)</script><!--", "--><script>"),
]

SQL = [
    Payload("sql", "or-1-1", text="' OR 1=1--"),
    Payload("sql", "or-1-1-double", text='" OR "1"="1'),
    Payload("sql", "union-select", text="' UNION SELECT username, password FROM auth_user--"),
    Payload("sql", "drop-table", text="x'; DROP TABLE ordinances_request;--"),
    Payload("sql", "sleep", text="1' AND pg_sleep(5)--"),
    Payload("sql", "like-wildcards", text="%_%\\%"),
    Payload("sql", "numeric-or", text="1 OR 1=1"),
]

TRAVERSAL = [
    Payload("traversal", "dot-dot", text="../../../../etc/passwd"),
    Payload("traversal", "dot-dot-windows", text="..\\..\\..\\windows\\win.ini"),
    Payload("traversal", "encoded", raw="{name}=%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
    Payload("traversal", "double-encoded", raw="{name}=%252e%252e%252fetc%252fpasswd"),
    Payload("traversal", "overlong-utf8", raw="{name}=%c0%ae%c0%ae%2fetc%2fpasswd"),
    Payload("traversal", "file-url", text="file:///etc/passwd"),
]

OVERSIZED = [
    Payload("oversized", "10k", text="A" * 10_000),
    Payload("oversized", "1mb", text="B" * 1_000_000),
    Payload("oversized", "long-integer", text="9" * 400),
    Payload("oversized", "int64-overflow", text="9223372036854775808"),
    Payload("oversized", "int32-overflow", text="2147483648"),
    Payload("oversized", "negative-huge", text="-99999999999999999999"),
    Payload("oversized", "huge-page", text="999999999999"),
    Payload("oversized", "float-exponent", text="1e309"),
    Payload("oversized", "nan", text="NaN"),
    Payload("oversized", "infinity", text="-Infinity"),
    Payload("oversized", "year-far", text="99999-01-01"),
    Payload("oversized", "many-words", text=" ".join(f"w{i}" for i in range(500))),
]

NUL = [
    Payload("nul", "percent-00", raw="{name}=%00"),
    Payload("nul", "embedded", text="abc\x00def"),
    Payload("nul", "only", text="\x00"),
    Payload("nul", "trailing-traversal", raw="{name}=..%2f..%2fetc%2fpasswd%00.html"),
    Payload("nul", "control-chars", text="\x01\x02\x07\x08\x0b\x0c\x1b[31m\x7f"),
]

CRLF = [
    Payload("crlf", "header-injection", raw="{name}=x%0d%0aSet-Cookie:%20pwned=1"),
    Payload("crlf", "response-split", raw="{name}=x%0d%0a%0d%0a%3Cscript%3Ealert(1)%3C/script%3E"),
    Payload("crlf", "lf-only", text="x\nLocation: https://evil.example/"),
]

UNICODE = [
    Payload("unicode", "bidi-override", text="\u202egnp.exe\u202c"),
    Payload("unicode", "zero-width", text="po\u200blice\u200d\ufeff"),
    Payload("unicode", "confusable-cyrillic", text="раrks"),  # Cyrillic р and а
    Payload("unicode", "fullwidth-script", text="＜script＞alert(1)＜/script＞"),
    Payload("unicode", "emoji", text="📷🚁👁️‍🗨️ drone"),
    Payload("unicode", "rtl-arabic", text="مراقبة الشرطة"),
    Payload("unicode", "rtl-hebrew", text="מצלמה"),
    Payload("unicode", "combining", text="Z\u0351\u0360\u0361a\u0352l\u0353g\u0354o"),
    Payload("unicode", "lone-surrogate-encoded", raw="{name}=%ed%a0%80"),
    Payload("unicode", "invalid-utf8", raw="{name}=%ff%fe%fd"),
    Payload("unicode", "truncated-utf8", raw="{name}=%e2%82"),
    Payload("unicode", "latin1-high", raw="{name}=caf%e9"),
    Payload("unicode", "astral", text="𝕊𝕦𝕣𝕧𝕖𝕚𝕝𝕝𝕒𝕟𝕔𝕖"),
]

SHAPES = [
    Payload("shape", "array-brackets", raw="{name}[]=1&{name}[]=2"),
    Payload("shape", "array-index", raw="{name}[0]=1&{name}[1]=x"),
    Payload("shape", "object", raw="{name}[a][b]=1"),
    Payload("shape", "repeated", raw="{name}=1&{name}=%3Cscript%3Ealert(1)%3C/script%3E&{name}=%00"),
    Payload("shape", "json-value", text='{"$gt": ""}'),
    Payload("shape", "json-array", text="[1,2,3]"),
    Payload("shape", "empty-name", raw="=1&{name}"),
    Payload("shape", "no-value", raw="{name}"),
    Payload("shape", "semicolon", raw="{name}=1;{name}=2"),
    Payload("shape", "plus-and-space", raw="{name}=+%20+"),
    Payload("shape", "percent-alone", raw="{name}=%"),
    Payload("shape", "percent-bad-hex", raw="{name}=%zz%g1"),
]

PAYLOADS: list[Payload] = [*XSS, *SQL, *TRAVERSAL, *OVERSIZED, *NUL, *CRLF, *UNICODE, *SHAPES]

# One or two of each family, chosen for what breaks servers: what every parameter is tried
# with alone (tests/test_hostile_input.py sends the whole corpus through every parameter at
# once, and through the parameters that carry text to the database one by one).
CORE_NAMES = (
    "script-tag",
    "javascript-url",
    "or-1-1",
    "encoded",
    "1mb",
    "long-integer",
    "int64-overflow",
    "percent-00",
    "embedded",
    "header-injection",
    "bidi-override",
    "invalid-utf8",
    "array-brackets",
    "repeated",
)
CORE: list[Payload] = [payload for payload in PAYLOADS if payload.name in CORE_NAMES]
# What reaches the database through an admin filter unchecked, as far as it is known: the
# few tried through each admin filter parameter alone.
ADMIN_CORE: list[Payload] = [
    payload
    for payload in PAYLOADS
    if payload.name in ("script-tag", "percent-00", "int64-overflow", "invalid-utf8", "10k")
]

# The payloads that are text (for form fields and workflow inputs).
TEXT_PAYLOADS: list[Payload] = [payload for payload in PAYLOADS if payload.text is not None]

# What a form field is tried with: every text payload but the megabyte, which the request
# body limit (DATA_UPLOAD_MAX_MEMORY_SIZE) answers before any form sees it; it is sent once
# on its own.
FORM_PAYLOADS: list[Payload] = [payload for payload in TEXT_PAYLOADS if payload.name != "1mb"]
