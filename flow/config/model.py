"""Model section of the config: a built-in example network or a user's Keras file."""

from __future__ import annotations

from dataclasses import dataclass, field

#: the example networks of flow.models
BUILTIN = ("digits_mlp", "lenet300", "lenet5")


@dataclass
class ModelConfig:
    #: digits_mlp | lenet300 | lenet5, or the path of a user .h5/.keras model
    name: str = "digits_mlp"
    #: hidden widths of digits_mlp
    hidden: list[int] = field(default_factory=lambda: [64, 32])

    def __post_init__(self) -> None:
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden={self.hidden}: every width must be >= 1")
        if self.name not in BUILTIN and not self.name.endswith((".h5", ".keras")):
            raise ValueError(
                f"name={self.name!r} is neither a built-in model ({', '.join(BUILTIN)}) nor a .h5/.keras path"
            )
