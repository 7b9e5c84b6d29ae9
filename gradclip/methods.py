"""The clipping methods: one entry per name, read by the simulator, training, the CLI and the demos.

Every method takes one number, passed as the argument ``tau`` of
:func:`gradclip.simulate.simulate` and of :class:`gradclip.train.RunSpec`. What that number
*is* depends on the method and, for the two adaptive rules, on where it runs: the simulator
feeds AutoClip and ZClip their published defaults (10th percentile; z-score 2.5) and uses
``tau`` only as the fixed cap of the warm-up, while training hands ``tau`` to the rule itself
(the percentile; the z-score). So each entry names its knob once per place, with its own
honest name, meaning and range, instead of calling two different things "tau":

========  =================================  ==================================
method    simulator knob                     training knob
========  =================================  ==================================
none      (ignored)                          (ignored)
norm      ``max_norm``                       ``max_norm``
value     ``clip_value``                     ``clip_value``
agc       ``ratio`` (:math:`\\lambda`)        ``ratio`` (:math:`\\lambda`)
autoclip  ``warmup_cap``                     ``percentile``
zclip     ``warmup_cap``                     ``z_thresh``
adaptive  ``warmup_cap`` (= ``zclip``)       (not offered)
========  =================================  ==================================

Examples
--------
>>> CLIP_METHODS["autoclip"].knob("training").name
'percentile'
>>> CLIP_METHODS["autoclip"].knob("simulator").name
'warmup_cap'
>>> method_names("training")
('none', 'norm', 'value', 'agc', 'autoclip', 'zclip')
"""

from __future__ import annotations

from dataclasses import dataclass

from gradclip.checks import choice

__all__ = ["Knob", "Method", "CLIP_METHODS", "PLACES", "method_names", "ADAPTIVE_WARMUP",
           "AUTOCLIP_PERCENTILE", "ZCLIP_ALPHA", "ZCLIP_Z", "AGC_EPS"]

PLACES = ("simulator", "training")

# The published defaults the simulator runs the adaptive rules with (and training's defaults).
AUTOCLIP_PERCENTILE = 10.0   # AutoClip's paper
ZCLIP_ALPHA = 0.97           # ZClip's reference code
ZCLIP_Z = 2.5
ADAPTIVE_WARMUP = 25         # steps of history before AutoClip/ZClip set the cap
AGC_EPS = 1e-3               # optax's smallest weight norm for AGC

_TAU_HI = 1e6


@dataclass(frozen=True)
class Knob:
    """What a method's one number means in one place.

    ``name`` is its honest name, ``meaning`` one plain sentence, and the allowed values are
    ``low < value <= high`` (``low_inclusive``: ``low <= value``).
    """

    name: str
    meaning: str
    low: float
    high: float
    low_inclusive: bool = False

    def allows(self, value: float) -> bool:
        """Whether ``value`` is in the knob's range.

        >>> Knob("p", "a percentile", 0.0, 100.0).allows(100.0)
        True
        """
        above = value >= self.low if self.low_inclusive else value > self.low
        return bool(above and value <= self.high)


@dataclass(frozen=True)
class Method:
    """One clipping method: ``name``, a reader's ``label``, whether it keeps state between
    steps (``stateful``) and its knob in each place it is offered (``None``: not offered)."""

    name: str
    label: str
    stateful: bool
    simulator: Knob | None
    training: Knob | None

    def knob(self, place: str) -> Knob:
        """The knob of this method in ``place`` (``"simulator"`` or ``"training"``)."""
        k = getattr(self, place) if place in PLACES else None
        if k is None:
            raise ValueError(f"method {self.name!r} is not offered in {place!r}; "
                             f"place must be one of {', '.join(PLACES)}")
        return k


_IGNORED = Knob("tau", "ignored: nothing is clipped", 0.0, _TAU_HI)
_MAX_NORM = Knob("max_norm", "the largest gradient norm kept", 0.0, _TAU_HI)
_CLIP_VALUE = Knob("clip_value", "the bound on each gradient component", 0.0, _TAU_HI)
_RATIO = Knob("ratio", "the largest ratio of a unit's gradient norm to its weight norm", 0.0, _TAU_HI)
_WARMUP_CAP = Knob("warmup_cap", f"the fixed norm cap of the first {ADAPTIVE_WARMUP} steps, "
                   "before the rule has a history", 0.0, _TAU_HI)

CLIP_METHODS: dict[str, Method] = {m.name: m for m in (
    Method("none", "No clipping", False, _IGNORED, _IGNORED),
    Method("norm", "Clip by norm", False, _MAX_NORM, _MAX_NORM),
    Method("value", "Clip by value", False, _CLIP_VALUE, _CLIP_VALUE),
    Method("adaptive", "Adaptive (ZClip)", True, _WARMUP_CAP, None),
    Method("agc", "Adaptive (AGC)", False, _RATIO, _RATIO),
    Method("autoclip", "AutoClip", True, _WARMUP_CAP,
           Knob("percentile", "the percentile of every norm so far that sets the cap", 0.0, 100.0)),
    Method("zclip", "ZClip", True, _WARMUP_CAP,
           Knob("z_thresh", "the z-score above which a norm counts as a spike", 0.0, _TAU_HI)),
)}


def method_names(place: str) -> tuple[str, ...]:
    """The names of the methods offered in ``place``, in registry order.

    >>> method_names("simulator")
    ('none', 'norm', 'value', 'adaptive', 'agc', 'autoclip', 'zclip')
    """
    choice(place, "place", PLACES)
    return tuple(m.name for m in CLIP_METHODS.values() if getattr(m, place) is not None)
