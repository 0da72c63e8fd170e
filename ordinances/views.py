def home(r): pass
def how_it_works(r, **k): pass
def healthz(r, **k): pass
def ordinance_list(r, **k): pass
def ordinance_detail(r, **k): pass
def agency_list(r, **k): pass
def agency_detail(r, **k): pass
def technology_list(r, **k): pass
def technology_detail(r, **k): pass
def request_list(r, **k): pass
def request_detail(r, **k): pass
