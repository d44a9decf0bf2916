"""Placing edge labels: each weight's label on its own edge, clear of the others.

A label is a small rectangle centred on its edge and turned with it.  For each edge
a few fractions along it are tried; the one chosen covers no other label and no
node, crosses as few other edges as it can, and is near a third of the way along.

>>> script_of("w11[2]"), round(width(script_of("w11[2]")), 2)
(('w', '11', '[2]'), 0.59)
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from . import _names as names

#: a label's height (cm): scriptsize math with a sub- and superscript
HEIGHT = 0.42
#: the least distance (cm) between two labels' centres
MIN_GAP = 0.5
#: the fraction along an edge that a label prefers, all else equal
PREFERRED = 0.35
#: TikZ's control-point distance for a curve of looseness 1, as a fraction of the chord
LOOSENESS = 0.3915

#: node radii (cm) by kind
RADIUS = {"neuron": 0.45, "bias": 0.3, "state": 0.55, "dots": 0.3, "input": 0.3, "output": 0.45, "text": 0.3,
          "note": 0.3}


@dataclass(frozen=True)
class Label:
    """An edge's label: its centre, the angle of its baseline (degrees) and its anchor."""

    x: float
    y: float
    angle: float
    anchor: str         # center (on the edge, sloped with it) | west | south
    latex: str
    text: str
    script: tuple = ()  # a name's (letter, subscript, superscript), for writers that set scripts themselves



def script_of(name: str) -> tuple:
    """A plain name's (letter, subscript, superscript): w11[2] → ("w", "11", "[2]"), x1 → ("x", "1", "")."""
    p = names.parse(name)
    return ("δ" if p.kind == "delta" else p.kind, names._index_text(p.indices),
            "" if p.layer is None else f"[{p.layer}]")


def width(script: tuple) -> float:
    """About how wide (cm) a label with this (letter, subscript, superscript) prints in scriptsize."""
    return 0.26 + 0.085 * max(len(script[1]), len(script[2])) + 0.08


# ---------------------------------------------------------------- geometry
def _frame(cx, cy, angle):
    a = math.radians(angle)
    return (cx, cy, math.cos(a), math.sin(a))


def _local(frame, px, py):
    cx, cy, c, s = frame
    dx, dy = px - cx, py - cy
    return dx * c + dy * s, -dx * s + dy * c


def corners(cx, cy, w, h, angle):
    """The four corners of a w × h rectangle centred at (cx, cy), turned by angle degrees."""
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    return [(cx + u * c - v * s, cy + u * s + v * c) for u, v in
            ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))]


def rects_overlap(r1, r2, margin=0.04) -> bool:
    """Whether two turned rectangles (cx, cy, w, h, angle) overlap (separating axes)."""
    p1 = corners(r1[0], r1[1], r1[2] + margin, r1[3] + margin, r1[4])
    p2 = corners(r2[0], r2[1], r2[2] + margin, r2[3] + margin, r2[4])
    for poly in (p1, p2):
        for i in range(2):
            ax, ay = poly[i + 1][0] - poly[i][0], poly[i + 1][1] - poly[i][1]
            a = [ax * x + ay * y for x, y in p1]
            b = [ax * x + ay * y for x, y in p2]
            if max(a) < min(b) or max(b) < min(a):
                return False
    return True


def segment_hits(rect, seg, margin=0.03) -> bool:
    """Whether the segment ((x0, y0), (x1, y1)) passes through the turned rectangle."""
    frame = _frame(rect[0], rect[1], rect[4])
    (u0, v0), (u1, v1) = _local(frame, *seg[0]), _local(frame, *seg[1])
    hw, hh = rect[2] / 2 + margin, rect[3] / 2 + margin
    lo, hi = 0.0, 1.0                      # Liang-Barsky clipping
    for p, q in ((-(u1 - u0), u0 + hw), (u1 - u0, hw - u0), (-(v1 - v0), v0 + hh), (v1 - v0, hh - v0)):
        if p == 0:
            if q < 0:
                return False
        else:
            r = q / p
            if p < 0:
                lo = max(lo, r)
            else:
                hi = min(hi, r)
            if lo > hi:
                return False
    return True


def circle_hits(rect, cx, cy, r) -> bool:
    """Whether a circle overlaps the turned rectangle."""
    u, v = _local(_frame(rect[0], rect[1], rect[4]), cx, cy)
    du = max(abs(u) - rect[2] / 2, 0.0)
    dv = max(abs(v) - rect[3] / 2, 0.0)
    return du * du + dv * dv < r * r


def upright(angle: float) -> float:
    """The angle turned so the text never reads upside down."""
    while angle > 90:
        angle -= 180
    while angle <= -90:
        angle += 180
    return angle


def _ends(lay, e, radius):
    a, b = lay.node(e.source), lay.node(e.target)
    return (a.x, a.y, radius[a.kind]), (b.x, b.y, radius[b.kind])


def arc(lay, e, radius, n=16) -> list:
    """A bent edge as a cubic Bézier's control points (TikZ's bend left, looseness 1)."""
    (ax, ay, ra), (bx, by, rb) = _ends(lay, e, radius)
    theta = math.atan2(by - ay, bx - ax)
    out, into = theta + math.radians(e.bend), theta + math.pi - math.radians(e.bend)
    start = (ax + ra * math.cos(out), ay + ra * math.sin(out))
    end = (bx + rb * math.cos(into), by + rb * math.sin(into))
    d = LOOSENESS * math.dist(start, end)
    return [start, (start[0] + d * math.cos(out), start[1] + d * math.sin(out)),
            (end[0] + d * math.cos(into), end[1] + d * math.sin(into)), end]


def bezier(points, t):
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    m = 1 - t
    return (m ** 3 * x0 + 3 * m * m * t * x1 + 3 * m * t * t * x2 + t ** 3 * x3,
            m ** 3 * y0 + 3 * m * m * t * y1 + 3 * m * t * t * y2 + t ** 3 * y3)


def segments(lay, e, radius) -> list:
    """The drawn line of an edge, as straight pieces between the nodes' borders."""
    if e.bend:
        pts = [bezier(arc(lay, e, radius), i / 16) for i in range(17)]
        return list(zip(pts, pts[1:]))
    (ax, ay, ra), (bx, by, rb) = _ends(lay, e, radius)
    d = math.dist((ax, ay), (bx, by)) or 1.0
    ux, uy = (bx - ax) / d, (by - ay) / d
    return [((ax + ra * ux, ay + ra * uy), (bx - rb * ux, by - rb * uy))]


def arc_point(lay, e, t: float, radius=None):
    """The label of a skip arc: at its top, above the line."""
    x, y = bezier(arc(lay, e, radius or RADIUS), t)
    return dataclasses.replace(e.label, x=x, y=y + 0.05), None


def with_labels(lay, placed: dict):
    """The layout with each edge id in ``placed`` given its (label, pos)."""
    edges = tuple(dataclasses.replace(e, label=placed[e.id][0], pos=placed[e.id][1]) if e.id in placed else e
                  for e in lay.edges)
    return dataclasses.replace(lay, edges=edges)


# ---------------------------------------------------------------- placing
def _rect(label, w):
    return (label.x, label.y, w, HEIGHT, label.angle)


def place_labels(lay, rounds: int = 3):
    """Label every weight and bias edge of ``lay``; (layout, whether nothing overlaps)."""
    radius = RADIUS
    lines = {e.id: segments(lay, e, radius) for e in lay.edges}
    fixed = {}
    for e in lay.edges:
        if e.kind == "skip":
            fixed[e.id] = arc_point(lay, e, 0.5, radius)
    movable = [e for e in lay.edges if e.kind in ("weight", "bias")]
    options = {}
    for e in movable:
        latex, script = f"${names.latex_name(e.name)}$", script_of(e.name)
        w = width(script)
        (ax, ay, ra), (bx, by, rb) = _ends(lay, e, radius)
        d = math.dist((ax, ay), (bx, by))
        angle = upright(math.degrees(math.atan2(by - ay, bx - ax)))
        lo, hi = (ra + w / 2 + 0.08) / d, 1 - (rb + w / 2 + 0.08) / d
        steps = 16
        fractions = [lo + (hi - lo) * i / steps for i in range(steps + 1)] if hi > lo else [0.5]
        options[e.id] = [(Label(ax + t * (bx - ax), ay + t * (by - ay), angle, "center", latex, e.name, script), t, w)
                         for t in fractions]
    chosen: dict = {}
    fixed_rects = [_rect(lab, 0.3) for lab, _ in fixed.values()]

    def cost(e, option):
        label, t, w = option
        rect = _rect(label, w)
        hard = 0
        for other_id, (olabel, _, ow) in chosen.items():
            if other_id == e.id:
                continue
            if rects_overlap(rect, _rect(olabel, ow)) or math.dist((label.x, label.y), (olabel.x, olabel.y)) < MIN_GAP:
                hard += 1
        hard += sum(rects_overlap(rect, r) for r in fixed_rects)
        hard += sum(circle_hits(rect, n.x, n.y, radius[n.kind] + 0.02) for n in lay.nodes)
        soft = sum(any(segment_hits(rect, s) for s in lines[o.id]) for o in lay.edges if o.id != e.id)
        return hard, soft, abs(t - PREFERRED)

    for _ in range(rounds):
        for e in movable:
            chosen[e.id] = min(options[e.id], key=lambda option: cost(e, option))
    ok = all(cost(e, chosen[e.id])[0] == 0 for e in movable)
    placed = {k: (label, round(t, 3)) for k, (label, t, _) in chosen.items()}
    placed.update(fixed)
    return with_labels(lay, placed), ok
