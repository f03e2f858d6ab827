"""Global modes are thread-local: training in three threads at once, each in its own mode, gives
exactly the results of running the same three jobs one after another.

* thread A: ``nn.fit`` on moons (plain mode; fit pauses the cyclic GC per step, a process-wide,
  counted pause);
* thread B: the same network trained by hand inside ``detect_anomaly()``, with ``no_grad``
  predictions between steps;
* thread C: second derivatives with ``engine.grad(create_graph=True)``, and a deliberate
  ``log(0) = -inf`` that must NOT trip thread B's anomaly detection.

A ``threading.Barrier`` makes them meet twice per step, so B is inside ``no_grad`` (and
``detect_anomaly``) exactly while A and C check that they still record graphs normally.
"""
import gc
import math
import threading

import pytest

import engine
from engine import AnomalyError, Value, detect_anomaly, grad, is_grad_enabled, no_grad
from nn import MLP, SGD, fit
from nn.data import make_moons
from nn.losses import hinge_loss

STEPS = 12
X, Y = make_moons(40, noise=0.1, seed=3)


class _Sync:
    """Two meeting points per step; a no-op when running serially."""

    def __init__(self, barrier):
        self.barrier = barrier

    def meet(self):
        if self.barrier is not None:
            self.barrier.wait()


def _records():
    """Does this thread record graphs right now?"""
    return (Value(1.0) * 2.0).op == "mul"


def job_a(sync, log):
    model = MLP(2, [8, 8, 1], seed=0)
    checks = []

    def callback(epoch, record):
        sync.meet()  # B is now inside no_grad + detect_anomaly
        checks.append((is_grad_enabled(), _records()))
        sync.meet()
    hist = fit(model, X, Y, epochs=STEPS, optimizer="sgd", lr=0.1, l2=1e-4, progress=False, callback=callback)
    log["A checks"] = checks
    return {"loss": hist["loss"], "accuracy": hist["accuracy"], "state": model.state_dict()}


def job_b(sync, log):
    model = MLP(2, [8, 8, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    targets = [2 * t - 1 for t in Y]
    losses, preds, checks = [], [], []
    with detect_anomaly():
        for _ in range(STEPS):
            loss = hinge_loss(model.forward_batch(X), targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.data)
            with no_grad():
                sync.meet()
                outs = [model(x) for x in X[:6]]
                checks.append((is_grad_enabled(), all(o.op == "" for o in outs), _records()))
                preds.append([o.data for o in outs])
                sync.meet()
        # anomaly detection is on in this thread: a nan made here is caught
        with pytest.raises(AnomalyError):
            Value(-1.0).log()
    log["B checks"] = checks
    return {"loss": losses, "preds": preds, "state": model.state_dict()}


def job_c(sync, log):
    out, checks = [], []
    for i in range(STEPS):
        x = Value(0.1 * i - 0.5, label="x")
        y = (x * x).tanh() * x.exp()
        (dy,) = grad(y, [x], create_graph=True)
        (d2y,) = grad(dy, [x])
        out.append((y.data, dy.data, d2y))
        sync.meet()
        # B is inside detect_anomaly and no_grad: here -inf is fine and graphs are recorded
        inf = Value(0.0).log()
        checks.append((is_grad_enabled(), _records(), dy.op != "", inf.data == -math.inf))
        sync.meet()
    return {"derivs": out}


JOBS = {"A": job_a, "B": job_b, "C": job_c}


def _serial():
    log = {}
    return {name: job(_Sync(None), log) for name, job in JOBS.items()}


def test_threads_match_serial_run():
    gc_was = gc.isenabled()
    expected = _serial()
    barrier = threading.Barrier(len(JOBS), timeout=60)
    results, errors, log = {}, {}, {}

    def run(name):
        try:
            results[name] = JOBS[name](_Sync(barrier), log)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors[name] = e
            barrier.abort()  # do not leave the other threads waiting

    threads = [threading.Thread(target=run, args=(name,), name=f"job-{name}") for name in JOBS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    real = {k: e for k, e in errors.items() if not isinstance(e, threading.BrokenBarrierError)}
    assert not real and not errors, f"thread errors: {real or errors}"

    # the same numbers, bit for bit, as the serial run
    for name in JOBS:
        assert results[name] == expected[name], f"thread {name} differs from the serial run"
    # the modes really were different at the same moments
    assert log["A checks"] == [(True, True)] * STEPS
    assert log["B checks"] == [(False, True, False)] * STEPS
    # and the training did something
    assert results["A"]["loss"][-1] < results["A"]["loss"][0]
    assert results["B"]["loss"][-1] < results["B"]["loss"][0]
    # modes and the GC pause are all released
    assert gc.isenabled() == gc_was
    assert is_grad_enabled() and _records()
    assert (Value(0.0).log()).data == -math.inf  # no anomaly mode left on in this thread


def test_gc_pause_is_counted_across_threads():
    gc_was = gc.isenabled()
    gc.enable()
    try:
        inside = threading.Barrier(2, timeout=30)
        leave_first = threading.Event()
        seen = []

        def worker(first):
            with engine.gc_paused():
                inside.wait()
                if first:
                    pass  # leaves first, while the other thread is still paused
                else:
                    leave_first.wait(30)
                    seen.append(gc.isenabled())  # the first has left: still paused for me
            if first:
                seen.append(gc.isenabled())
                leave_first.set()

        a = threading.Thread(target=worker, args=(True,))
        b = threading.Thread(target=worker, args=(False,))
        a.start()
        b.start()
        a.join(30)
        b.join(30)
        assert seen == [False, False]
        assert gc.isenabled()
    finally:
        if not gc_was:
            gc.disable()


def test_no_grad_in_one_thread_does_not_leak_to_a_new_thread():
    seen = []
    with no_grad(), detect_anomaly():
        t = threading.Thread(target=lambda: seen.append((is_grad_enabled(), _records(),
                                                         Value(-1.0).log().data)))
        t.start()
        t.join()
        assert not is_grad_enabled()
    assert seen[0][:2] == (True, True) and math.isnan(seen[0][2])
    assert is_grad_enabled()
