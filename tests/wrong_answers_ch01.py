"""Plausible wrong answers to the chapter 01 implement exercises, each otherwise correct with one typical mistake,
and the hint its check must give (read by tests/test_exercises.py; not collected by pytest)."""

import numpy as np


def _softmax(values):
    values = np.asarray(values, dtype="float64")
    exp = np.exp(values - values.max())
    return exp / exp.sum()


# 1.1 rnn_step -------------------------------------------------------------------------------------------------

def rnn_step_without_tanh(x, h, W_xh, W_hh, b):
    return x @ W_xh + h @ W_hh + b


def rnn_step_with_transposed_recurrent_weights(x, h, W_xh, W_hh, b):
    return np.tanh(x @ W_xh + h @ W_hh.T + b)          # column-vector habit: W h


def rnn_step_with_swapped_weights(x, h, W_xh, W_hh, b):
    return np.tanh(x @ W_hh + h @ W_xh + b)


def rnn_step_without_bias(x, h, W_xh, W_hh, b):
    return np.tanh(x @ W_xh + h @ W_hh)


def rnn_step_with_column_vectors(x, h, W_xh, W_hh, b):
    return np.tanh(W_xh.T @ x.T + W_hh.T @ h.T + b[:, None])   # (hidden, batch): one column per example


# 1.3 softmax_with_temperature ----------------------------------------------------------------------------------

def temperature_on_probabilities(logits, temperature):
    return _softmax(_softmax(logits) / temperature)     # the article's generate_text


def logits_times_temperature(logits, temperature):
    return _softmax(logits * temperature)


def probabilities_divided_by_temperature(logits, temperature):
    return _softmax(logits) / temperature


def temperature_without_normalising(logits, temperature):
    scaled = np.asarray(logits) / temperature
    return np.exp(scaled - scaled.max())


def temperature_with_naive_exp(logits, temperature):
    exp = np.exp(np.asarray(logits) / temperature)       # overflows for logits around 1000
    return exp / exp.sum()


# 1.4 top_p_filter ----------------------------------------------------------------------------------------------

def top_p_without_sorting(logits, p):
    probs = _softmax(logits)
    mass_before = np.cumsum(probs) - probs
    return np.where(mass_before < p, logits, -np.inf)


def top_p_dropping_the_crossing_token(logits, p):
    order = np.argsort(-logits)
    keep = np.zeros(len(logits), dtype=bool)
    keep[order[np.cumsum(_softmax(logits)[order]) < p]] = True
    keep[order[0]] = True                                 # "the most likely token is always kept"
    return np.where(keep, logits, -np.inf)


def top_p_sorted_ascending(logits, p):
    order = np.argsort(logits)
    sorted_probs = _softmax(logits)[order]
    keep = np.zeros(len(logits), dtype=bool)
    keep[order[np.cumsum(sorted_probs) - sorted_probs < p]] = True
    return np.where(keep, logits, -np.inf)


def top_p_zero_instead_of_minus_infinity(logits, p):
    order = np.argsort(-logits)
    sorted_probs = _softmax(logits)[order]
    keep = np.zeros(len(logits), dtype=bool)
    keep[order[np.cumsum(sorted_probs) - sorted_probs < p]] = True
    return np.where(keep, logits, 0.0)


def top_p_returning_probabilities(logits, p):
    order = np.argsort(-logits)
    probs = _softmax(logits)
    keep = np.zeros(len(logits), dtype=bool)
    keep[order[np.cumsum(probs[order]) - probs[order] < p]] = True
    kept = np.where(keep, probs, 0.0)
    return kept / kept.sum()


# 1.6 beam_search -----------------------------------------------------------------------------------------------

def _beam_search(next_log_probs, length, beam_width, score_of=lambda score, log_prob: score + log_prob,
                 lowest=False):
    beams = [([], 0.0)]
    for _ in range(length):
        candidates = [(tokens + [token], score_of(score, float(log_prob)))
                      for tokens, score in beams for token, log_prob in enumerate(next_log_probs(tokens))]
        candidates.sort(key=lambda candidate: candidate[1], reverse=not lowest)
        beams = candidates[:beam_width]
    return beams[0]


def beam_search_that_is_greedy(next_log_probs, length, beam_width):
    return _beam_search(next_log_probs, length, 1)     # beam_width never used


def beam_search_summing_probabilities(next_log_probs, length, beam_width):
    tokens, _ = _beam_search(next_log_probs, length, beam_width,
                             score_of=lambda score, log_prob: score + np.exp(log_prob))
    return tokens, float(sum(next_log_probs(tokens[:i])[token] for i, token in enumerate(tokens)))


def beam_search_keeping_the_lowest(next_log_probs, length, beam_width):
    return _beam_search(next_log_probs, length, beam_width, lowest=True)


def beam_search_forgetting_the_parent_score(next_log_probs, length, beam_width):
    tokens, _ = _beam_search(next_log_probs, length, beam_width, score_of=lambda score, log_prob: log_prob)
    return tokens, float(sum(next_log_probs(tokens[:i])[token] for i, token in enumerate(tokens)))


def beam_search_of_parallel_greedy_beams(next_log_probs, length, beam_width):
    first = next_log_probs([])
    beams = [([int(token)], float(first[token])) for token in np.argsort(-first)[:beam_width]]
    for _ in range(length - 1):
        extended = []
        for tokens, score in beams:
            log_probs = next_log_probs(tokens)
            best = int(np.argmax(log_probs))
            extended.append((tokens + [best], score + float(log_probs[best])))
        beams = sorted(extended, key=lambda candidate: candidate[1], reverse=True)
    return beams[0]


def beam_search_multiplying_probabilities(next_log_probs, length, beam_width):
    beams = [([], 1.0)]                                   # right order of beams, but the score is a probability
    for _ in range(length):
        candidates = [(tokens + [token], score * float(np.exp(log_prob)))
                      for tokens, score in beams for token, log_prob in enumerate(next_log_probs(tokens))]
        candidates.sort(key=lambda candidate: candidate[1], reverse=True)
        beams = candidates[:beam_width]
    return beams[0]


WRONG_ANSWERS = {
    "rnn_step": [
        (rnn_step_without_tanh, "最外层的 tanh"),
        (rnn_step_with_transposed_recurrent_weights, "W_hh 的转置"),
        (rnn_step_with_swapped_weights, "两个权重用反了"),
        (rnn_step_without_bias, "少了偏置 b"),
        (rnn_step_with_column_vectors, "行向量"),
    ],
    "softmax_with_temperature": [
        (temperature_on_probabilities, "文章 000 §5.1 的错误"),
        (logits_times_temperature, "乘以了 T"),
        (probabilities_divided_by_temperature, "把概率除以了 T"),
        (temperature_without_normalising, "忘了归一化"),
        (temperature_with_naive_exp, "指数溢出了"),
    ],
    "top_p_filter": [
        (top_p_without_sorting, "先按概率从大到小排序"),
        (top_p_dropping_the_crossing_token, "越过 p 的那个词元"),
        (top_p_sorted_ascending, "排序方向反了"),
        (top_p_zero_instead_of_minus_infinity, "而不是 0"),
        (top_p_returning_probabilities, "你返回的是概率"),
    ],
    "beam_search": [
        (beam_search_that_is_greedy, "和贪心解码"),
        (beam_search_summing_probabilities, "直接相加"),
        (beam_search_keeping_the_lowest, "得分最低的候选"),
        (beam_search_forgetting_the_parent_score, "父候选的累计得分"),
        (beam_search_of_parallel_greedy_beams, "几条并行的贪心"),
        (beam_search_multiplying_probabilities, "是概率本身"),
    ],
}
