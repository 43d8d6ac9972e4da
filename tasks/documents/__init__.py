"""Documents: Word plans, letters and reports per Decree 30/2020, the Excel forms and workbooks, PDF copies."""
