"""The deputies' inequality report: analysis of the store over a period (pandas), rendered as HTML, PDF and XLSX."""
