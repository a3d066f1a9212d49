"""LaTeX in a reply, made readable: Markdown would eat the backslashes of \\( P = V \\times I \\)
and show "( P = V times I )". Math spans (\\( \\), \\[ \\], $$ $$, $ $) become inline code
with the common commands as symbols: `P = V × I`, `a/b`, `x²`, `√(2)`."""
from __future__ import annotations

import re

SYMBOLS = {
    "times": "×", "cdot": "·", "div": "÷", "pm": "±", "mp": "∓", "leq": "≤", "le": "≤",
    "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "equiv": "≡", "sim": "∼",
    "infty": "∞", "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒",
    "iff": "⇔", "in": "∈", "notin": "∉", "subset": "⊂", "cup": "∪", "cap": "∩",
    "sum": "∑", "prod": "∏", "int": "∫", "partial": "∂", "nabla": "∇", "degree": "°",
    "circ": "°", "ldots": "…", "cdots": "⋯", "dots": "…", "quad": " ", "qquad": "  ",
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ", "chi": "χ",
    "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "%": "%", ",": " ",
    ";": " ", "!": "", " ": " ",
}
SUPER = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_SPAN = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]|\$\$(.+?)\$\$|(?<![\w$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\w)",
                   re.DOTALL)
_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"


def latex_to_text(expr: str) -> str:
    s = expr.strip()
    for _ in range(3):   # nested groups
        s = re.sub(r"\\[dt]?frac" + _GROUP + _GROUP, lambda m: f"{_wrap(m[1])}/{_wrap(m[2])}", s)
        s = re.sub(r"\\sqrt" + _GROUP, lambda m: f"√({m[1]})", s)
        s = re.sub(r"\\(?:text|mathrm|mathbf|mathit|operatorname|textbf)" + _GROUP,
                   lambda m: m[1], s)
    s = re.sub(r"\\left|\\right", "", s)
    s = re.sub(r"\\([A-Za-z]+|[%,;! ])", lambda m: SYMBOLS.get(m[1], m[1]), s)
    s = re.sub(r"\^\{([^{}]*)\}|\^(\w)", lambda m: _scripted(m, SUPER, "^"), s)
    s = re.sub(r"_\{([^{}]*)\}|_(\w)", lambda m: _scripted(m, SUB, "_"), s)
    s = s.replace("{", "").replace("}", "")
    return re.sub(r"[ \t]+", " ", s).strip()


def _wrap(part: str) -> str:
    part = part.strip()
    return part if re.fullmatch(r"[\w.\\]+", part) else f"({part})"


def _scripted(match: re.Match, table: dict, mark: str) -> str:
    body = match.group(1) if match.group(1) is not None else match.group(2)
    mapped = body.translate(table)
    if all(ch != orig or ch in " " for ch, orig in zip(mapped, body, strict=True)):
        return mapped                   # every character has a small form
    return f"{mark}({body})" if len(body) > 1 else f"{mark}{body}"


def readable_math(text: str) -> str:
    """Math spans in Markdown prose as inline code (code fences are not passed here)."""
    def span(m: re.Match) -> str:
        display = m.group(2) is not None or m.group(3) is not None
        body = latex_to_text(next(g for g in m.groups() if g is not None))
        code = f"`{body.replace('`', '')}`"
        return f"\n\n{code}\n\n" if display else code
    return _SPAN.sub(span, text)
