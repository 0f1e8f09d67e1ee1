"""Model section of the config: a built-in example network or a user's Keras file."""

from __future__ import annotations

from dataclasses import dataclass, field

#: the example networks of flow.models
BUILTIN = ("digits_mlp", "lenet300", "lenet5", "lstm_seqmnist")


@dataclass
class ModelConfig:
    #: digits_mlp | lenet300 | lenet5 | lstm_seqmnist (LSTM(lstm_units) over the image rows + Dense), or
    #: the path of a user .h5/.keras model
    name: str = "digits_mlp"
    #: hidden widths of digits_mlp
    hidden: list[int] = field(default_factory=lambda: [64, 32])
    #: hidden units of lstm_seqmnist's LSTM
    lstm_units: int = 128

    def __post_init__(self) -> None:
        if self.lstm_units < 1:
            raise ValueError(f"lstm_units={self.lstm_units} must be >= 1")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden={self.hidden}: every width must be >= 1")
        if self.name not in BUILTIN and not self.name.endswith((".h5", ".keras")):
            raise ValueError(
                f"name={self.name!r} is neither a built-in model ({', '.join(BUILTIN)}) nor a .h5/.keras path"
            )
