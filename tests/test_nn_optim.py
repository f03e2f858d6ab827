"""nn.optim: SGD/Adam/AdamW against torch.optim step by step; schedules against torch's."""
import math

import pytest

from engine import Value, dot
from nn import MLP
from nn.optim import SGD, Adam, AdamW, CosineAnnealingLR, LinearLR, StepLR, make_scheduler

INIT = [0.5, -1.2, 2.0, 0.05]
COEF = [1.0, -2.0, 0.5, 3.0]


def _loss_ours(ps):
    # a non-quadratic loss so the gradients change from step to step
    return (dot(ps, COEF)).tanh() * 2.0 + dot(ps, ps) * 0.3


def _run_ours(make_opt, steps=6):
    ps = [Value(x) for x in INIT]
    opt = make_opt(ps)
    for _ in range(steps):
        opt.zero_grad()
        _loss_ours(ps).backward()
        opt.step()
    return [p.data for p in ps]


def _run_torch(torch, make_opt, steps=6):
    p = torch.tensor(INIT, dtype=torch.float64, requires_grad=True)
    c = torch.tensor(COEF, dtype=torch.float64)
    opt = make_opt([p])
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.tanh((p * c).sum()) * 2.0 + (p * p).sum() * 0.3
        loss.backward()
        opt.step()
    return p.detach().tolist()


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01),
    dict(lr=0.05, momentum=0.5, dampening=0.1),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.1),
])
def test_sgd_matches_torch(torch, kw):
    ours = _run_ours(lambda ps: SGD(ps, **kw))
    theirs = _run_torch(torch, lambda ps: torch.optim.SGD(ps, **kw))
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(lr=0.05),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.05, weight_decay=0.1),
])
def test_adam_matches_torch(torch, kw):
    ours = _run_ours(lambda ps: Adam(ps, **kw), steps=8)
    theirs = _run_torch(torch, lambda ps: torch.optim.Adam(ps, **kw), steps=8)
    assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("kw", [dict(lr=0.05), dict(lr=0.05, weight_decay=0.3)])
def test_adamw_matches_torch(torch, kw):
    ours = _run_ours(lambda ps: AdamW(ps, **kw), steps=8)
    theirs = _run_torch(torch, lambda ps: torch.optim.AdamW(ps, **kw), steps=8)
    assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-13)


def test_sgd_by_hand():
    w = Value(1.0)
    opt = SGD([w], lr=0.1, momentum=0.5)
    w.grad = 2.0
    opt.step()
    assert w.data == pytest.approx(0.8)
    opt.zero_grad()
    assert w.grad == 0.0
    w.grad = 2.0
    opt.step()  # buf = 0.5 * 2 + 2 = 3
    assert w.data == pytest.approx(0.5)


def test_optimizer_accepts_module_and_rejects_bad_params():
    m = MLP(2, [3, 1], seed=0)
    assert SGD(m).params == m.parameters()
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="params\\[1\\] must be a Value"):
        Adam([Value(1.0), 2.0])
    with pytest.raises(ValueError, match="lr must be >= 0"):
        SGD([Value(1.0)], lr=-1.0)
    with pytest.raises(TypeError, match="lr must be a number, got str"):
        Adam([Value(1.0)], lr="fast")
    with pytest.raises(ValueError, match="betas"):
        Adam([Value(1.0)], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="nesterov"):
        SGD([Value(1.0)], nesterov=True)


def _lrs(sched, opt, n):
    out = [opt.lr]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(opt.lr)
    return out


def _torch_lrs(torch, make, n, lr=1.0):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def test_schedules_match_torch(torch):
    S = torch.optim.lr_scheduler
    cases = [
        (lambda o: StepLR(o, 3, 0.5), lambda o: S.StepLR(o, 3, 0.5), 12),
        (lambda o: LinearLR(o, 1.0, 0.1, 100), lambda o: S.LinearLR(o, 1.0, 0.1, 100), 12),
        (lambda o: LinearLR(o), lambda o: S.LinearLR(o), 12),
        # torch's cosine rises again after T_max (it is periodic); ours stays at eta_min
        (lambda o: CosineAnnealingLR(o, 10, 0.01), lambda o: S.CosineAnnealingLR(o, 10, 0.01), 10),
    ]
    for ours, theirs, n in cases:
        opt = SGD([Value(0.0)], lr=1.0)
        assert _lrs(ours(opt), opt, n) == pytest.approx(_torch_lrs(torch, theirs, n), rel=1e-9, abs=1e-12)
    opt = SGD([Value(0.0)], lr=1.0)
    assert _lrs(CosineAnnealingLR(opt, 10, 0.01), opt, 14)[10:] == [0.01] * 5


def test_micrograd_schedule():
    opt = SGD([Value(0.0)], lr=1.0)
    sched = LinearLR(opt, 1.0, 0.1, 100)
    lrs = _lrs(sched, opt, 100)
    assert lrs[:100] == pytest.approx([1.0 - 0.9 * k / 100 for k in range(100)])


def test_make_scheduler():
    opt = SGD([Value(0.0)], lr=2.0)
    assert make_scheduler("none", opt, 10) is None
    cos = make_scheduler("cosine", opt, 10)
    assert cos.get_lr(10) == pytest.approx(0.0) and cos.get_lr(5) == pytest.approx(1.0)
    assert make_scheduler("step", SGD([Value(0.0)], lr=1.0), 9).get_lr(3) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown schedule 'exp'"):
        make_scheduler("exp", opt, 10)
    with pytest.raises(TypeError, match="expected an optimizer"):
        StepLR("sgd", 3)


def test_sgd_decreases_a_quadratic():
    ps = [Value(3.0), Value(-2.0)]
    opt = SGD(ps, lr=0.1, momentum=0.9)
    for _ in range(200):
        opt.zero_grad()
        dot(ps, ps).backward()
        opt.step()
    assert math.hypot(*(p.data for p in ps)) < 1e-2


def test_chained_schedulers_multiply_as_torch(torch):
    """Two schedulers on one optimiser: each used to overwrite the lr from its own base (0.09 off in lr)."""
    S = torch.optim.lr_scheduler
    for ours, theirs in [
        (lambda o: [StepLR(o, 3), StepLR(o, 4, 0.5)], lambda o: [S.StepLR(o, 3), S.StepLR(o, 4, 0.5)]),
        (lambda o: [LinearLR(o, 0.5, 1.0, 4), CosineAnnealingLR(o, 30)],
         lambda o: [S.LinearLR(o, 0.5, 1.0, 4), S.CosineAnnealingLR(o, 30)]),
        (lambda o: [CosineAnnealingLR(o, 10, 0.01), StepLR(o, 3, 0.5)],  # eta_min stays the floor
         lambda o: [S.CosineAnnealingLR(o, 10, 0.01), S.StepLR(o, 3, 0.5)]),
    ]:
        opt = SGD([Value(1.0)], lr=0.1)
        scheds = ours(opt)
        p = torch.zeros(1, requires_grad=True)
        topt = torch.optim.SGD([p], lr=0.1)
        tscheds = theirs(topt)
        for _ in range(10):  # (up to T_max: past it PyTorch's cosine rises again, ours stays, as documented)
            topt.step()
            for s, t in zip(scheds, tscheds):
                s.step()
                t.step()
            assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)


def test_a_scheduler_keeps_an_lr_set_after_it():
    opt = SGD([Value(1.0)], lr=0.1)
    sched = StepLR(opt, 2)
    opt.lr = 0.5  # fit(optimizer=opt, lr=0.5, schedule=sched) does this: it used to be undone at the first step
    lrs = []
    for _ in range(4):
        sched.step()
        lrs.append(opt.lr)
    assert lrs == pytest.approx([0.5, 0.05, 0.05, 0.005], rel=1e-12)


def test_optimizer_and_scheduler_arguments_as_torch():
    w = Value(1.0)
    with pytest.raises(ValueError, match="not a leaf"):
        SGD([w * 2.0])
    with pytest.raises(ValueError, match="listed twice"):
        SGD([w, w])
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        SGD([w], momentum=0.9, nesterov="no")
    for bad in ({"start_factor": 0.0}, {"start_factor": 2.0}, {"end_factor": 1.5}):
        with pytest.raises(ValueError, match="LinearLR"):
            LinearLR(SGD([w]), **bad)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda ps: Adam(ps, lr=0.05), lambda ps: AdamW(ps, lr=0.05)])
def test_optimizer_state_dict_resumes_exactly(make):
    """Stop after 3 steps, save the state as JSON, resume in a fresh optimiser: the same numbers as 6 steps."""
    import json

    def train(opt, ps, n):
        for _ in range(n):
            _loss_ours(ps).backward()
            opt.step()
            opt.zero_grad()
    a = [Value(x) for x in INIT]
    train(make(a), a, 6)
    b = [Value(x) for x in INIT]
    first = make(b)
    train(first, b, 3)
    resumed = make(b)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    train(resumed, b, 3)
    assert [p.data for p in b] == [p.data for p in a]


def test_optimizer_load_state_dict_is_all_or_nothing():
    opt = Adam([Value(1.0), Value(2.0)], lr=0.1)
    good = opt.state_dict()
    for bad, exc, needle in [({**good, "exp_avg": [0.0]}, ValueError, "one number per parameter"),
                             ({**good, "type": "SGD"}, ValueError, "from 'SGD'"),
                             ({**good, "step": -1}, ValueError, "step"),
                             ({k: v for k, v in good.items() if k != "eps"}, ValueError, "lacks 'eps'"),
                             ({**good, "lr": 0.5, "exp_avg_sq": [0.0, "x"]}, TypeError, "exp_avg_sq")]:
        with pytest.raises(exc, match=needle):
            opt.load_state_dict(bad)
        assert opt.state_dict() == good  # nothing changed


def test_a_lone_scheduler_is_its_closed_form_exactly():
    for make in (lambda o: StepLR(o, 3, 0.5), lambda o: LinearLR(o, 0.25, 1.0, 5),
                 lambda o: CosineAnnealingLR(o, 7, 0.01)):
        opt = SGD([Value(1.0)], lr=0.3)
        sched = make(opt)
        for t in range(1, 12):
            sched.step()
            assert opt.lr == sched.get_lr(t)  # not drifted by ratios


def test_fit_lr_restarts_a_schedule_built_before():
    from nn import fit
    from nn.data import make_moons
    X, y = make_moons(20, seed=0)
    model = MLP(2, [4, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    h = fit(model, X, y, epochs=7, optimizer=opt, lr=0.3, schedule=LinearLR(opt), progress=False)
    assert h["lr"] == pytest.approx([0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.3], rel=1e-12)  # warms up to 0.3, not 0.9


def test_numpy_arguments():
    np = pytest.importorskip("numpy")
    assert SGD([Value(1.0)], momentum=0.9, nesterov=np.bool_(True)).nesterov is True


@pytest.mark.parametrize("make", [lambda o: LinearLR(o, 0.25, 1.0, 6), lambda o: StepLR(o, 3, 0.5),
                                  lambda o: CosineAnnealingLR(o, 10, 0.01)])
def test_schedule_resumes_with_its_state_dict(make):
    """PyTorch's pattern: build optimiser and schedule, load both states, go on: the same lrs as never stopping
    (without the schedule's state, a warm-up resumed at 4 of 6 steps climbed to 2.6x its peak)."""
    import json

    def run(n):
        opt = SGD([Value(1.0)], lr=0.4)
        sched = make(opt)
        lrs = []
        for _ in range(n):
            sched.step()
            lrs.append(opt.lr)
        return opt, sched, lrs
    full = run(10)[2]
    opt, sched, first = run(4)
    saved = json.loads(json.dumps({"opt": opt.state_dict(), "sched": sched.state_dict()}))
    opt2 = SGD([Value(1.0)], lr=0.4)
    sched2 = make(opt2)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    rest = []
    for _ in range(6):
        sched2.step()
        rest.append(opt2.lr)
    assert first + rest == full


def test_load_state_dict_checks_what_step_needs():
    a = Adam([Value(1.0)])
    for bad, needle in [({"exp_avg_sq": [-1.0]}, "exp_avg_sq"), ({"step": 10 ** 400}, "step must be <=")]:
        with pytest.raises(ValueError, match=needle):
            a.load_state_dict({**a.state_dict(), **bad})
    s = SGD([Value(1.0)], momentum=0.9)
    with pytest.raises(ValueError, match="nesterov needs momentum > 0 and dampening = 0"):
        s.load_state_dict({**s.state_dict(), "nesterov": True, "dampening": 0.5})
    with pytest.raises(ValueError, match="the state is for 3 parameters, this optimiser has 1"):
        s.load_state_dict({**s.state_dict(), "params": 3})
    with pytest.raises(ValueError, match="a torch.optim one"):
        s.load_state_dict({"state": {}, "param_groups": []})


def test_fit_refuses_a_schedule_on_another_optimizer_and_changes_nothing_on_bad_arguments():
    from nn import fit
    from nn.data import make_moons
    X, y = make_moons(20, seed=0)
    model = MLP(2, [3, 1], seed=0)
    opt, other = SGD(model.parameters(), lr=0.1), SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="the schedule drives another optimizer"):
        fit(model, X, y, epochs=1, optimizer=opt, schedule=StepLR(other, 1), progress=False)
    sched = StepLR(opt, 2)
    with pytest.raises(TypeError, match="restore_best"):
        fit(model, X, y, epochs=1, optimizer=opt, lr=0.8, schedule=sched, restore_best="yes", progress=False)
    assert opt.lr == 0.1 and sched.base_lr == 0.1
