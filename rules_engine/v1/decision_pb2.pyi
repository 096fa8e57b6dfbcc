import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DecideRequest(_message.Message):
    __slots__ = ("ruleset", "context", "context_json", "as_of", "explain", "request_id")
    RULESET_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ruleset: str
    context: _struct_pb2.Struct
    context_json: bytes
    as_of: _timestamp_pb2.Timestamp
    explain: bool
    request_id: str
    def __init__(self, ruleset: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., context_json: _Optional[bytes] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., explain: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class DecideResponse(_message.Message):
    __slots__ = ("decision_id", "request_id", "ruleset", "version", "ruleset_hash", "as_of", "actions", "matched_rules", "suppressed", "explanation")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RULESET_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULESET_HASH_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    MATCHED_RULES_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    request_id: str
    ruleset: str
    version: str
    ruleset_hash: str
    as_of: _timestamp_pb2.Timestamp
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    matched_rules: _containers.RepeatedScalarFieldContainer[str]
    suppressed: _containers.RepeatedCompositeFieldContainer[Suppression]
    explanation: Explanation
    def __init__(self, decision_id: _Optional[str] = ..., request_id: _Optional[str] = ..., ruleset: _Optional[str] = ..., version: _Optional[str] = ..., ruleset_hash: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., matched_rules: _Optional[_Iterable[str]] = ..., suppressed: _Optional[_Iterable[_Union[Suppression, _Mapping]]] = ..., explanation: _Optional[_Union[Explanation, _Mapping]] = ...) -> None: ...

class Action(_message.Message):
    __slots__ = ("action", "params", "rule", "priority", "group", "reason", "fallback")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    action: str
    params: _struct_pb2.Struct
    rule: str
    priority: float
    group: str
    reason: str
    fallback: bool
    def __init__(self, action: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., rule: _Optional[str] = ..., priority: _Optional[float] = ..., group: _Optional[str] = ..., reason: _Optional[str] = ..., fallback: _Optional[bool] = ...) -> None: ...

class Suppression(_message.Message):
    __slots__ = ("action", "rule", "reason")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    action: str
    rule: str
    reason: str
    def __init__(self, action: _Optional[str] = ..., rule: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Explanation(_message.Message):
    __slots__ = ("rules", "dropped", "warnings")
    RULES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[RuleTrace]
    dropped: _containers.RepeatedCompositeFieldContainer[DroppedAction]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rules: _Optional[_Iterable[_Union[RuleTrace, _Mapping]]] = ..., dropped: _Optional[_Iterable[_Union[DroppedAction, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class RuleTrace(_message.Message):
    __slots__ = ("rule", "status", "condition", "values", "message")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[RuleTrace.Status]
        MATCHED: _ClassVar[RuleTrace.Status]
        NOT_MATCHED: _ClassVar[RuleTrace.Status]
        DISABLED: _ClassVar[RuleTrace.Status]
        OUT_OF_WINDOW: _ClassVar[RuleTrace.Status]
        ERROR: _ClassVar[RuleTrace.Status]
        SKIPPED: _ClassVar[RuleTrace.Status]
    STATUS_UNSPECIFIED: RuleTrace.Status
    MATCHED: RuleTrace.Status
    NOT_MATCHED: RuleTrace.Status
    DISABLED: RuleTrace.Status
    OUT_OF_WINDOW: RuleTrace.Status
    ERROR: RuleTrace.Status
    SKIPPED: RuleTrace.Status
    RULE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    rule: str
    status: RuleTrace.Status
    condition: str
    values: _struct_pb2.Struct
    message: str
    def __init__(self, rule: _Optional[str] = ..., status: _Optional[_Union[RuleTrace.Status, str]] = ..., condition: _Optional[str] = ..., values: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...

class DroppedAction(_message.Message):
    __slots__ = ("action", "rule", "group", "reason")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    action: str
    rule: str
    group: str
    reason: str
    def __init__(self, action: _Optional[str] = ..., rule: _Optional[str] = ..., group: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DecideBatchRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[DecideRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[DecideRequest, _Mapping]]] = ...) -> None: ...

class DecideResult(_message.Message):
    __slots__ = ("response", "error")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    response: DecideResponse
    error: _status_pb2.Status
    def __init__(self, response: _Optional[_Union[DecideResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class DecideBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[DecideResult]
    def __init__(self, results: _Optional[_Iterable[_Union[DecideResult, _Mapping]]] = ...) -> None: ...

class ListRulesetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RulesetInfo(_message.Message):
    __slots__ = ("name", "version", "hash", "source", "rule_count", "loaded_at", "last_error", "last_error_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RULE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    hash: str
    source: str
    rule_count: int
    loaded_at: _timestamp_pb2.Timestamp
    last_error: str
    last_error_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., hash: _Optional[str] = ..., source: _Optional[str] = ..., rule_count: _Optional[int] = ..., loaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., last_error_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FileError(_message.Message):
    __slots__ = ("source", "error", "failed_at")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILED_AT_FIELD_NUMBER: _ClassVar[int]
    source: str
    error: str
    failed_at: _timestamp_pb2.Timestamp
    def __init__(self, source: _Optional[str] = ..., error: _Optional[str] = ..., failed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListRulesetsResponse(_message.Message):
    __slots__ = ("rulesets", "errors", "directory", "reload_enabled")
    RULESETS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    RELOAD_ENABLED_FIELD_NUMBER: _ClassVar[int]
    rulesets: _containers.RepeatedCompositeFieldContainer[RulesetInfo]
    errors: _containers.RepeatedCompositeFieldContainer[FileError]
    directory: str
    reload_enabled: bool
    def __init__(self, rulesets: _Optional[_Iterable[_Union[RulesetInfo, _Mapping]]] = ..., errors: _Optional[_Iterable[_Union[FileError, _Mapping]]] = ..., directory: _Optional[str] = ..., reload_enabled: _Optional[bool] = ...) -> None: ...
