/* Chinese search queries: Sphinx indexes Chinese text as jieba words, but its
 * default splitQuery keeps "反向传播" as a single word, which is not in the
 * index (jieba cut it into 反向 / 传播). Segment Han runs of the query by
 * longest match against the index's own terms instead. Loaded on search.html
 * only (see _ext/offline_site.py); runs when the query is parsed, after the
 * index has loaded. */
var splitQuery = (query) => {
  const words = query
    .split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)
    .filter((w) => w);
  const terms = typeof Search !== "undefined" && Search._index ? Search._index.terms : null;
  if (!terms) return words;
  const out = [];
  for (const word of words) {
    if (!/\p{Script=Han}/u.test(word) || word.toLowerCase() in terms) {
      out.push(word);
      continue;
    }
    let i = 0;
    while (i < word.length) {
      let j = word.length;
      while (j > i + 1 && !(word.slice(i, j) in terms)) j--;
      // single characters are not indexed (Sphinx drops one-letter terms): skip them
      if (j > i + 1 || word[i] in terms) out.push(word.slice(i, j));
      i = j;
    }
  }
  return out.length ? out : words;
};
