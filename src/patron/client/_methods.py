"""`operation` and `pages`: one operation's description made a method of both executors,
typed for each (on `Client` it answers, on `AsyncClient` it is a coroutine), documented
with the description's own signature and docstring (for `help()` and the API docs)."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Generic, ParamSpec, TypeVar, overload

from patron.client._exec import AsyncExecutor, Executor, SyncExecutor
from patron.client._op import Item, Op, Page

P = ParamSpec("P")
T = TypeVar("T")


class Methods:
    """Base of the classes that declare `operation`s and `pages`: each executor subclass
    gets them as plain functions of its own (what `help()`, the API docs and IDEs read),
    with that executor's return annotations."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not issubclass(cls, Executor):
            return
        found: dict[str, object] = {}
        for klass in cls.__mro__:  # the nearest definition of each name, as lookup finds it
            found = {**vars(klass), **found}
        for name, member in found.items():
            if isinstance(member, _Method):
                setattr(cls, name, member.function_for(cls))


class _Method:
    """The part both kinds share: a function per owning class (its signature's return
    annotation is that class's), bound to each instance as a method is."""

    runner = ""
    """The executor's method that runs what the description returns."""

    def __init__(self, build: Callable[..., Op[Any]]) -> None:
        self._build = build
        self._name = build.__name__
        self.__doc__ = build.__doc__
        self._functions: dict[type[Any], Callable[..., Any]] = {}

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    def _get(self, instance: object, owner: type[Any]) -> Any:
        function = self.function_for(owner)
        return function if instance is None else types.MethodType(function, instance)

    def function_for(self, owner: type[Any]) -> Callable[..., Any]:
        if owner in self._functions:
            return self._functions[owner]
        build, runner = self._build, self.runner

        def method(executor: Executor[Any, Any], /, *args: Any, **kwargs: Any) -> Any:
            return getattr(executor, runner)(build(*args, **kwargs))

        method.__name__, method.__qualname__ = self._name, f"{owner.__qualname__}.{self._name}"
        method.__doc__, method.__module__ = self.__doc__, owner.__module__
        method.__signature__ = self._signature(issubclass(owner, AsyncExecutor))  # type: ignore[attr-defined]
        self._functions[owner] = method
        return method

    def _signature(self, asynchronous: bool) -> inspect.Signature:
        described = inspect.signature(self._build)
        me = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        answer = typing.get_args(typing.get_type_hints(self._build)["return"])[0]
        returns = self._returns(answer, asynchronous)
        return described.replace(parameters=[me, *described.parameters.values()], return_annotation=returns)

    def _returns(self, answer: Any, asynchronous: bool) -> Any:
        raise NotImplementedError


class operation(_Method, Generic[P, T]):  # noqa: N801 (named as the decorator-like call it is)
    """A method made from one operation's description: on a `Client` it returns the answer,
    on an `AsyncClient` a coroutine of it. The arguments are the description's own, so an
    unknown keyword is a `TypeError`."""

    runner = "_run"

    def __init__(self, build: Callable[P, Op[T]]) -> None:
        super().__init__(build)

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Callable[..., Any]: ...
    @overload
    def __get__(self, instance: SyncExecutor, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, instance: AsyncExecutor, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, instance: Executor[Any, Any] | None, owner: type[Any]) -> Any:
        return self._get(instance, owner)

    def _returns(self, answer: Any, asynchronous: bool) -> Any:
        return Coroutine[Any, Any, answer] if asynchronous else answer


class pages(_Method, Generic[P, Item]):  # noqa: N801
    """An iterator method made from a list operation's description: every item of every
    page, fetched lazily, page after page by the `after` cursor (an `async for` iterator on
    an `AsyncClient`). The arguments are the list operation's: the first page's."""

    runner = "_iterate"

    def __init__(self, build: Callable[P, Op[Page[Item]]]) -> None:
        super().__init__(build)
        self.__doc__ = f"Every item of every page, fetched lazily by cursor, of: {build.__doc__}"

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Callable[..., Any]: ...
    @overload
    def __get__(self, instance: SyncExecutor, owner: type[Any]) -> Callable[P, Iterator[Item]]: ...
    @overload
    def __get__(self, instance: AsyncExecutor, owner: type[Any]) -> Callable[P, AsyncIterator[Item]]: ...
    def __get__(self, instance: Executor[Any, Any] | None, owner: type[Any]) -> Any:
        return self._get(instance, owner)

    def _returns(self, answer: Any, asynchronous: bool) -> Any:
        item: Any = typing.get_args(typing.get_type_hints(answer)["items"])[0]
        return AsyncIterator[item] if asynchronous else Iterator[item]
