"""Regenerate the examples: the seed's 2-3-1 network as lecture notes, and a softmax classifier.

With the package installed (pip install .), run:  python examples/make_examples.py
Writes the .tex and .md files; with pdflatex and pdftoppm installed, also the PDFs and
the first page of the seed's notes as a PNG. A file whose content would not change is
left alone, and a PDF is made again only when its .tex changed (or is missing).
"""
import shutil
import subprocess
from pathlib import Path

import symbackprop as sb

HERE = Path(__file__).parent
EXAMPLES = {"seed-2-3-1": HERE / "seed-2-3-1.toml", "softmax-4-5-3": HERE / "softmax-4-5-3.toml"}


def _update(path: Path, text: str) -> bool:
    """Write text to path unless it already holds it; whether it was written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main() -> None:
    for name, spec in EXAMPLES.items():
        d = sb.derive(str(spec))
        changed = _update(HERE / f"{name}.tex", d.to_latex(standalone=True))
        _update(HERE / f"{name}.md", d.to_markdown())
        if shutil.which("pdflatex") and (changed or not (HERE / f"{name}.pdf").exists()):
            subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                           cwd=HERE, check=True, capture_output=True)
            for junk in (".aux", ".log"):
                (HERE / f"{name}{junk}").unlink(missing_ok=True)
    pdf, png = HERE / "seed-2-3-1.pdf", HERE / "seed-2-3-1-page1.png"
    if shutil.which("pdftoppm") and pdf.exists() and (not png.exists() or png.stat().st_mtime < pdf.stat().st_mtime):
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                        "seed-2-3-1.pdf", "seed-2-3-1-page1"], cwd=HERE, check=True)


if __name__ == "__main__":
    main()
