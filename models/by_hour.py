"""``gru_by_hour``: a recurrent network over the target day's 24 hours (forecast mode).

Like ``hgb_by_hour`` it forecasts each hour of the target day and averages them; unlike it,
the hours are one sequence, read both ways, so what the weather did earlier in the day
(a front at 15 h, a calm night) and what it will do later reach every hour's forecast
without hand-made "so far" features::

    x (+ station embedding) ── Linear → act → Dropout ── the day's state ─┐ copied to
                                                                          │ each hour
    target day's hours (batch, 24, channels) ────────────────────────────┴─ concat
        → bidirectional GRU (hidden / 2 units each way) → Dropout → Linear
        → log rate per hour (batch, 24)

    hour h's forecast = exp(log rate) × y_std (µg/m³); the day's = the mean of the 24

The hours' channels are :func:`forecast.task.target_hour_features` (the hour, its weather,
its changes since the issue time, the wind run and strong northerly hours so far),
standardised on the training rows with missing-value indicators, as every network input
(:mod:`models.scaling`). The day's inputs are every other network's tabular features
(day D's record and the target day's daily ``forecast_*`` weather).

It trains on the target day's **hourly** PM2.5 (``task.y_hours``, a target only), 24
targets a day instead of one, with the Poisson deviance (a log link for a skewed,
non-negative target whose forecasts stay means, so their average is the daily mean's);
hours without a valid PM2.5 are left out of the loss. ``forward`` returns the daily mean
in the scaled units of the other networks (identity target transform), so prediction,
ensembles, calibration and saving are theirs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .base import Network, NetworkConfig, feedforward

#: log rates are clamped to this: exp(12) × y_std is beyond any PM2.5 ever measured
MAX_LOG_RATE = 12.0


class ByHourRecurrent(Network):
    reads_target_hours = True

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        c = config
        self.day = feedforward(self.n_static, c.hidden, 1, c.dropout, c.activation)
        # the two directions together as wide as the day's state (hidden): a quarter of
        # the recurrent arithmetic of hidden units each way
        width = max(1, c.hidden // 2)
        self.rnn = nn.GRU(c.hidden + c.n_target_hour_channels, width, batch_first=True,
                          bidirectional=True)
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(2 * width, 1))
        # start every hour at the training mean: −target_offset is y_mean / y_std
        with torch.no_grad():
            self.head[-1].bias.fill_(math.log(max(-c.target_offset, 1e-3)))

    def log_rates(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor,
                  target_hours: torch.Tensor) -> torch.Tensor:
        """Log of each target hour's forecast in units of y_std, (batch, 24)."""
        day = self.day(self.static_inputs(x, station))
        day = day[:, None].expand(-1, target_hours.shape[1], -1)
        outputs, _ = self.rnn(torch.cat([day, target_hours], dim=-1))
        return self.head(outputs).squeeze(-1).clamp(max=MAX_LOG_RATE)

    def forward(self, x: torch.Tensor, seq: torch.Tensor, station: torch.Tensor,
                target_hours: torch.Tensor) -> torch.Tensor:
        """The daily mean as the scaled target, (batch,)."""
        hourly = torch.exp(self.log_rates(x, seq, station, target_hours))
        return hourly.mean(dim=1) + self.config.target_offset


def poisson_deviance(log_rates: torch.Tensor, y_hours: torch.Tensor) -> torch.Tensor:
    """Mean Poisson deviance, 2 (y log(y / μ) − (y − μ)), over the hours with a target
    (``y_hours`` finite; both in units of y_std); 0 when none has."""
    observed = torch.isfinite(y_hours)
    y = torch.where(observed, y_hours, torch.zeros_like(y_hours))
    deviance = 2 * (torch.xlogy(y, y) - y * log_rates - y + torch.exp(log_rates))
    return (deviance * observed).sum() / observed.sum().clamp(min=1)
