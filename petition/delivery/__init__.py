"""The delivery bundle: the PDF staff hand to a petition's target, and its records.

canonical.py  the rows and their SHA-256, in a form a recipient can recompute
fonts.py      fonts by coverage, bidi, HarfBuzz shaping, PDF text operators
layout.py     page geometry and pagination, computed before anything is drawn
render.py     ReportLab drawing of the front matter and of signature volumes (worker side)
build.py      reading the database, worker processes, merging, the Delivery record
words.py      the bundle's headings, labels and standard letter in the languages chosen
verify.py     checking a bundle: its attached rows against the hash and counts it states
"""
