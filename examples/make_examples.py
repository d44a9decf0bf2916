"""Regenerate the examples: the seed's 2-3-1 network as lecture notes, and a softmax classifier.

With the package installed (pip install .), run:  python examples/make_examples.py
Writes the .tex files; with pdflatex and pdftoppm installed, also the PDFs and the
first page of the seed's notes as a PNG.
"""
import shutil
import subprocess
from pathlib import Path

import symbackprop as sb

HERE = Path(__file__).parent
EXAMPLES = {"seed-2-3-1": HERE / "seed-2-3-1.toml", "softmax-4-5-3": HERE / "softmax-4-5-3.toml"}


def main() -> None:
    for name, spec in EXAMPLES.items():
        d = sb.derive(str(spec))
        (HERE / f"{name}.tex").write_text(d.to_latex(standalone=True), encoding="utf-8")
        (HERE / f"{name}.md").write_text(d.to_markdown(), encoding="utf-8")
        if shutil.which("pdflatex"):
            subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                           cwd=HERE, check=True, capture_output=True)
            for junk in (".aux", ".log"):
                (HERE / f"{name}{junk}").unlink(missing_ok=True)
    if shutil.which("pdftoppm") and (HERE / "seed-2-3-1.pdf").exists():
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                        "seed-2-3-1.pdf", "seed-2-3-1-page1"], cwd=HERE, check=True)


if __name__ == "__main__":
    main()
