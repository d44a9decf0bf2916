"""Issue 6: the cost table's counts, worked by hand for a small network; the progress bar."""
import symbackprop as sb
from symbackprop._cost import backprop_counts, cost


def test_counts_by_hand_linear_2_3_1():
    # forward: z[2] = x W[1]: 6 mults + 3 adds; z[3]: 3 mults + 2 adds; linear activations: nothing;
    # E = (a − t)²/2: a subtraction, a square, a halving, then 1 add to sum it in: 4  → 18
    # backward: δ[3] = a − t: 1; ∂E/∂W[2]: 3 mults; δ[2] = (δ[3] W[2]ᵀ) ⊙ 1: 3 mults + 3 ⊙;
    # ∂E/∂W[1]: 6 mults  → 16, so 34 in all
    counts = backprop_counts(sb.network("2-3-1", activation="linear"))
    assert counts["forward"]["mul+add"] == 18
    assert counts["forward+backward"]["mul+add"] == 34


def test_backprop_is_about_two_forward_passes_and_per_weight_is_not():
    rows = cost(sb.network("2-3-1", activation="sigmoid"), repeat=5)
    backprop, per_weight = rows
    assert backprop.op_ratio <= 3
    assert per_weight.op_ratio > 2 * backprop.op_ratio


def test_large_network_ratio():
    counts = backprop_counts(sb.network("784-128-10", activation="sigmoid", bias=True))
    assert counts["forward+backward"]["mul+add"] / counts["forward"]["mul+add"] <= 3


def test_cost_command(cli_run):
    result = cli_run("cost", "2-3-1", "--activation", "tanh", "--repeat", "3")
    assert result.exit_code == 0
    assert "| backprop (compiled per-layer code) |" in result.output
    assert "one expression per weight" in result.output
    assert cli_run("cost", "2-3-1").exit_code == 2          # the generic g has no numbers


def test_no_progress_bar_when_not_a_terminal(capfd):
    from symbackprop.cli import main
    try:
        main(["derive", "300-80-10", "--activation", "sigmoid", "--format", "json", "-o", "/dev/null"])
    except SystemExit as stop:
        assert stop.code == 0
    assert capfd.readouterr().err == ""
