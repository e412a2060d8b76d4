"""The ``demo`` gallery: one HTML page with the figures and samples of every chapter that exists."""

from __future__ import annotations

import html
import time
from functools import partial
from pathlib import Path

import numpy as np

from aigc_course.checkpoints import shipped_path


def _metrics_table(rows: dict[str, dict]) -> str:
    columns = sorted({key for metrics in rows.values() for key in metrics})
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = ""
    for label, metrics in rows.items():
        cells = "".join(
            f"<td>{metrics[column]:.4g}</td>" if isinstance(metrics.get(column), float)
            else f"<td>{html.escape(str(metrics.get(column, '')))}</td>" for column in columns)
        body += f"<tr><th>{html.escape(label)}</th>{cells}</tr>"
    return f"<table><tr><th></th>{head}</tr>{body}</table>"


_MISSING_DATA: dict[str, str | None] = {}  # data set -> what to do about it; filled afresh by each build_gallery


def _missing_data_note(dataset: str) -> str | None:
    """None when ``dataset`` is here (or could be downloaded just now); else one line on what is missing and how
    to get it, printed once per gallery."""
    from aigc_course.data.catalog import dataset_problem, how_to_get

    if dataset not in _MISSING_DATA:
        problem = dataset_problem(dataset)
        # a wrong file in the data folder: its own message names it and the fix; a missing one: how to get it
        _MISSING_DATA[dataset] = None if problem is None else problem[1] if problem[0] == "corrupt" \
            else how_to_get(dataset)
        if _MISSING_DATA[dataset]:
            print(f"[demo] {_MISSING_DATA[dataset]}")
    return _MISSING_DATA[dataset]


def _save_figure(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path.name


def intro_section(out_dir: Path) -> str:
    """Chapter 00: the judge (a discriminative model) next to a shallow generative model of digits."""
    from aigc_course.metrics import Judge
    from aigc_course.models.bernoulli_mixture import BernoulliMixtureClassModel
    from aigc_course.plotting import show_images
    from aigc_course.zoo import evaluation_mnist, load_trained

    heading = "<h2>第00章 导论: 判别式模型 vs 生成式模型</h2>"
    missing = _missing_data_note("mnist")
    if missing:  # this section is about real images: the judge's accuracy, a model fitted to the digits
        return f"{heading}<p>跳过本节 (skipped): {html.escape(missing)}</p>"
    data = evaluation_mnist()  # the split the shipped judge was trained on: its 2,000 held-out images are unseen
    parts = [f"{heading}<p>{html.escape(data.note)}</p>"]
    judge = Judge(load_trained("judge-mnist")[0], data.class_names)
    shown = data.x_val[:32]
    predictions = judge.predict(shown)
    figure = show_images(shown, ncols=8, labels=[f"判为 {p}" for p in predictions],
                         title="判别式模型 (评委 CNN) 只会回答 “这是几”")
    parts.append(f'<img src="{_save_figure(figure, out_dir / "00_judge_predictions.png")}">')
    rows = {"评委 judge-mnist (验证集)": {"test_accuracy": judge.accuracy(data.x_val, data.y_val)}}

    labels = np.repeat(np.arange(10), 8)
    for components in (1, 10):
        model = BernoulliMixtureClassModel(num_components=components, iterations=20).fit(
            data.x_train, data.y_train)
        samples = model.sample(labels, seed=components)
        figure = show_images(samples, ncols=16, value_range=(0, 1),
                             title=f"生成式模型 p(x|y): 每类 {components} 个伯努利分量, 每行两个数字")
        parts.append(f'<img src="{_save_figure(figure, out_dir / f"00_bernoulli_k{components}.png")}">')
        heldout_nll = -model.log_likelihood(data.x_val).mean()
        generated = model.sample(np.tile(np.arange(10), 100), seed=components + 100)
        metrics = judge.report(generated, data.x_train[:2000], data.x_val, value_range=(0, 1))
        rows[f"伯努利混合 K={components}"] = {
            "generative_accuracy": float((model.predict(data.x_val) == data.y_val).mean()),
            "heldout_nll_nats": float(heldout_nll), **metrics}
    parts.append(_metrics_table(rows))
    return "\n".join(parts)


def text_section(out_dir: Path, name: str) -> str:
    """Chapters 01 and 04: poems or a Shakespeare passage from a shipped character model (top-p 0.9); for a
    GPT of poems also the attention of its last layer over a real quatrain. Needs no data: the vocabulary
    comes from the checkpoint's card; the validation loss is shown when the corpus is here."""
    from aigc_course.data.corpora import load_char_corpus
    from aigc_course.metrics import nats_per_char
    from aigc_course.sampling import DecodingSettings
    from aigc_course.zoo import POEM_START, get_entry, load_trained
    from aigc_course.zoo.text import POEM_CORPUS, vocabulary

    entry = get_entry(name)
    model, card = load_trained(name)
    vocab = vocabulary(entry.corpus, card)
    generator = entry.generator(model, vocab)
    chapter = entry.chapter
    settings = DecodingSettings("top_p", top_p=0.9)
    figure_html = ""
    if entry.corpus == POEM_CORPUS:
        title = f"{chapter}: 唐诗 (top-p 0.9)"
        texts = [prompt + generator.generate(POEM_START + prompt, 64, settings, seed=seed, stop_at=POEM_START)[0]
                 for seed, prompt in enumerate(["春", "月", "山", "秋", "", ""])]
        if hasattr(model, "attention_maps"):
            figure_html = _attention_figure(model, vocab, out_dir / f"04_{name}_attention.png")
    else:
        title = f"{chapter}: 莎士比亚 (top-p 0.9)"
        texts = ["ROMEO:\n" + generator.generate("ROMEO:\n", 400, settings, seed=0)[0]]
    dataset = "tang_poems" if entry.corpus == POEM_CORPUS else "shakespeare"
    missing = _missing_data_note(dataset)
    if missing:
        loss = f"验证损失需要数据 (validation loss needs the data): {missing}"
    else:
        corpus = load_char_corpus(entry.corpus)
        val = nats_per_char(model, corpus.val_ids[:20_001])
        loss = f"{corpus.note}; 验证集前 20,000 字符 {val:.3f} nats/字符 (完整验证集见 evaluate)"
    return (f"<h2>{html.escape(title)}: {html.escape(name)}</h2><p>{html.escape(loss)}; "
            f"训练 {card.get('train_seconds', 0):.0f} 秒</p>"
            + "".join(f"<pre>{html.escape(text)}</pre>" for text in texts) + figure_html)


def _attention_figure(model, vocab, path: Path) -> str:
    """A heatmap of the last layer's attention (heads averaged) over a real quatrain."""
    import matplotlib.pyplot as plt

    line = "\n白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    weights = np.asarray(model.attention_maps(vocab.encode(line)[None])[-1][0]).mean(axis=0)
    labels = ["\\n", *line[1:]]  # the poem separator, in a glyph every font has
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(weights, cmap="magma")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_title("最后一层注意力 (各头平均): 行 = 正在预测下一个字的位置")
    return f'<img src="{_save_figure(fig, path)}">'


def gan_section(out_dir: Path, name: str) -> str:
    """Chapter 02: a grid from a shipped GAN (a row per digit for the conditional one) and its card."""
    from aigc_course.plotting import show_images
    from aigc_course.zoo import load_trained

    model, card = load_trained(name)
    conditional = model.num_classes is not None
    labels = np.repeat(np.arange(10), 8) if conditional else None
    images = model.sample(80 if conditional else 64, seed=0, labels=labels)
    title = f"{name}: " + ("第 k 行要求画数字 k" if conditional else "64 个样本")
    figure = show_images(images, ncols=8, title=title, value_range=model.value_range)
    keys = ("fid_judge", "fid_judge_real", "judge_confidence", "class_share_min", "class_share_max", "label_match",
            "code_purity")
    rows = {name: {key: card[key] for key in keys if key in card}}
    return (f"<h2>第02章 GAN: {html.escape(name)}</h2><p>训练 {card.get('train_seconds', 0):.0f} 秒, "
            f"{card.get('epochs')} 轮; 指标来自检查点卡片 (evaluate 可复算)</p>"
            f'<img src="{_save_figure(figure, out_dir / f"02_{name}.png")}">' + _metrics_table(rows))


def vae_section(out_dir: Path, name: str) -> str:
    """Chapter 03: prior samples (16-d latent) or the decoded latent plane (2-d latent), and the card."""
    from statistics import NormalDist

    from aigc_course.plotting import show_images
    from aigc_course.zoo import load_trained

    model, card = load_trained(name)
    if model.latent_dim == 2:
        grid = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.03, 0.97, 12)], "float32")
        images = model.decode(np.array([[x, y] for y in grid[::-1] for x in grid], "float32"))
        figure = show_images(images, ncols=12, title=f"{name}: 潜在平面上的解码网格", value_range=model.value_range)
    else:
        figure = show_images(model.sample(64, seed=0), ncols=8, title=f"{name}: 从先验 N(0, I) 采样 (像素概率)",
                             value_range=model.value_range)
    keys = ("negative_elbo", "iw_nll", "iw_samples", "fid_judge", "judge_confidence", "class_share_min")
    rows = {name: {key: card[key] for key in keys if key in card}}
    return (f"<h2>第03章 VAE: {html.escape(name)}</h2><p>训练 {card.get('train_seconds', 0):.0f} 秒, "
            f"{card.get('epochs')} 轮; nats/图像, 2,000 张验证图像</p>"
            f'<img src="{_save_figure(figure, out_dir / f"03_{name}.png")}">' + _metrics_table(rows))


def diffusion_section(out_dir: Path, name: str) -> str:
    """Chapter 05: unconditional DDIM samples, a guided row per digit, one denoising trajectory, the card."""
    from aigc_course.plotting import show_images
    from aigc_course.zoo import DIFFUSION_GUIDANCE, load_trained

    model, card = load_trained(name)
    images, trajectory = model.sample(32, steps=50, seed=0, trajectory_every=7)
    figures = [show_images(images, ncols=8, title=f"{name}: DDIM 50 步, 不给标签", value_range=model.value_range)]
    labels = np.repeat(np.arange(10), 8)
    guided = model.sample(len(labels), steps=50, labels=labels, guidance=DIFFUSION_GUIDANCE, seed=1)
    figures.append(show_images(guided, ncols=8, title=f"第 k 行要求画数字 k (引导强度 w = {DIFFUSION_GUIDANCE:g})",
                               value_range=model.value_range))
    frames = np.concatenate([frames[:4] for _, frames in trajectory])
    figures.append(show_images(frames, ncols=4, value_range=model.value_range,
                               title="去噪轨迹: 每行是一个时刻 t = " + ", ".join(str(t) for t, _ in trajectory)))
    keys = ("fid_judge", "fid_judge_real", "judge_confidence", "class_share_min", "class_share_max",
            "label_match", "sampling_seconds")
    rows = {name: {key: card[key] for key in keys if key in card}}
    pictures = "".join(f'<img src="{_save_figure(figure, out_dir / f"05_{name}_{index}.png")}">'
                       for index, figure in enumerate(figures))
    return (f"<h2>第05章 扩散模型: {html.escape(name)}</h2><p>训练 {card.get('train_seconds', 0):.0f} 秒, "
            f"{card.get('epochs')} 轮; 指标来自检查点卡片 (evaluate 可复算)</p>" + pictures + _metrics_table(rows))


def likelihood_section(out_dir: Path) -> str:
    """Chapter 06: PixelCNN samples drawn pixel by pixel (and how they fill in), flow samples at three
    temperatures, and both cards."""
    from aigc_course.plotting import show_images
    from aigc_course.zoo import load_trained

    pixelcnn, pixelcnn_card = load_trained("pixelcnn-mnist")
    started = time.time()
    images, snapshots = pixelcnn.sample(16, seed=0, every=196)
    seconds = time.time() - started
    frames = np.concatenate([snapshot[:4] for snapshot in snapshots])
    figures = [show_images(images, ncols=8, title=f"pixelcnn-mnist: 逐像素采样 16 张 ({seconds:.0f} 秒)",
                           value_range=pixelcnn.value_range),
               show_images(frames, ncols=4, value_range=pixelcnn.value_range,
                           title="逐像素填充: 每行是 196、392、588、784 个像素之后")]
    rows = {"pixelcnn-mnist": {key: pixelcnn_card[key] for key in
                               ("test_nll_nats", "fid_judge", "judge_confidence", "class_share_min") if key in pixelcnn_card}}
    if shipped_path("realnvp-mnist").is_file():
        flow, flow_card = load_trained("realnvp-mnist")
        samples = np.concatenate([flow.sample(8, seed=0, temperature=t) for t in (1.0, 0.8, 0.6)])
        figures.append(show_images(samples, ncols=8, value_range=flow.value_range,
                                   title="realnvp-mnist: 温度 1.0 / 0.8 / 0.6 (每行一个温度)"))
        rows["realnvp-mnist"] = {key: flow_card[key] for key in
                                 ("bits_per_dim", "fid_judge", "judge_confidence", "class_share_min") if key in flow_card}
    pictures = "".join(f'<img src="{_save_figure(figure, out_dir / f"06_likelihood_{index}.png")}">'
                       for index, figure in enumerate(figures))
    return (f"<h2>第06章 精确似然: pixelcnn-mnist, realnvp-mnist</h2><p>PixelCNN: nats/图像 (二值化的 2,000 张验证"
            f"图像, 训练 {pixelcnn_card.get('train_seconds', 0):.0f} 秒); RealNVP: bits/维 (8 位灰度图像); "
            "指标来自检查点卡片 (evaluate 可复算)</p>" + pictures + _metrics_table(rows))


SECTIONS = [
    ("judge-mnist", intro_section),
    ("charlstm-tang", partial(text_section, name="charlstm-tang")),
    ("charlstm-shakespeare", partial(text_section, name="charlstm-shakespeare")),
    ("dcgan-mnist", partial(gan_section, name="dcgan-mnist")),
    ("cdcgan-mnist", partial(gan_section, name="cdcgan-mnist")),
    ("vae-mnist", partial(vae_section, name="vae-mnist")),
    ("vae2d-mnist", partial(vae_section, name="vae2d-mnist")),
    ("gpt-tang", partial(text_section, name="gpt-tang")),
    ("gpt-shakespeare", partial(text_section, name="gpt-shakespeare")),
    ("ddpm-mnist", partial(diffusion_section, name="ddpm-mnist")),
    ("pixelcnn-mnist", likelihood_section),
]


def build_gallery(out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` with every section whose shipped checkpoint exists."""
    from aigc_course.plotting import use_chinese_font

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    use_chinese_font()
    _MISSING_DATA.clear()
    started = time.time()
    sections = []
    for checkpoint_name, section in SECTIONS:
        if not shipped_path(checkpoint_name).is_file():
            sections.append(f"<p>({html.escape(checkpoint_name)}: 没有附带的权重, 跳过)</p>")
            continue
        sections.append(section(out_dir))
    page = ("<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>AIGC 从入门到实战 · 画廊"
            "</title><style>body{font-family:sans-serif;max-width:1000px;margin:auto}img{max-width:100%}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style></head>"
            "<body><h1>AIGC 从入门到实战 · 画廊</h1>" + "\n".join(sections)
            + f"<p>生成用时 {time.time() - started:.1f} 秒</p></body></html>")
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
