"""The API's response shapes as pydantic models: what /docs shows and what every route returns.

A classification is :meth:`genrekit.predict.Prediction.to_dict` (the JSON
``genrekit predict --json`` prints) plus the fields only a server has;
fields are only ever added, never renamed, since the page reads them.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="A code: too_large, unsupported, corrupt, too_short, bad_model, bad_request, "
                                   "bad_token, uploads_disabled, not_found, busy, timeout, internal")
    message: str


class Health(BaseModel):
    status: Literal["ok"]
    models: int


class Segment(BaseModel):
    start: float
    end: float
    genre: str
    confidence: float


class Coverage(BaseModel):
    mode: Literal["fast", "full"]
    windows: int
    of: int
    starts: list[float]


class Timings(BaseModel):
    total_s: float = Field(description="From the upload being read to the answer")
    queue_s: float = Field(description="Waiting for a worker")
    analysis_s: float = Field(description="Decoding and inference")


class Analysed(BaseModel):
    seconds: float = Field(description="Seconds of audio the verdict heard (from the start)")
    duration_s: Optional[float] = Field(description="The recording's length as its header declares; null if unknown")
    truncated: bool = Field(description="Whether the recording went on past max_duration_s, unheard")
    max_duration_s: float


class Classification(BaseModel):
    path: str = Field(description="The upload's file name, as the client sent it")
    genre: str
    confidence: float
    probabilities: dict[str, float]
    segments: list[Segment]
    coverage: Coverage
    model: str
    timings: Timings
    analysed: Analysed


class Claimed(BaseModel):
    accuracy: Optional[float]
    balanced_accuracy: Optional[float]
    split: str


class Benchmark(BaseModel):
    status: Literal["pending", "running", "done", "failed", "off"]
    accuracy: Optional[float] = None
    balanced_accuracy: Optional[float] = None
    n_tracks: Optional[int] = None
    collection: Optional[str] = None
    split: Optional[str] = Field(default=None, description="The collection's split scored (test, valid or all)")
    message: Optional[str] = Field(default=None, description="Why scoring failed")


class ModelSummary(BaseModel):
    id: str
    name: str
    labels: list[str]
    feature_set: str
    kind: str
    source: Literal["bundled", "file", "upload"]
    size_bytes: int
    default: bool
    claimed: Optional[Claimed]
    benchmark: Optional[Benchmark]


class Confusion(BaseModel):
    labels: list[str]
    matrix: list[list[int]] = Field(description="Counts; rows are the true genre, columns the predicted one")
    split: str


class ModelDetail(ModelSummary):
    card: dict[str, Any]
    confusion: Optional[Confusion]


class ModelList(BaseModel):
    models: list[ModelSummary]


class Mel(BaseModel):
    db: list[list[float]] = Field(description="n_mels rows x n_frames, dB re 1.0 (top 80 dB), rounded to 0.1")
    frequencies: list[float] = Field(description="Centre of each mel band, Hz")


class Explanation(BaseModel):
    sample_rate: int
    duration_s: float = Field(description="Seconds analysed")
    truncated: bool
    hop_seconds: float = Field(description="Time between the frames returned (after decimation)")
    times: list[float]
    mel: Mel
    mfcc: list[list[float]]
    zcr: list[float]
    centroid: list[float]
    explanations: dict[str, str]
