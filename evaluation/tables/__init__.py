"""Result tables in the paper's layout (CSV / Markdown / LaTeX), the paper's reported numbers, the HTML report."""
