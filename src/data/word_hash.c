/* word_hash.c: word hashing into letter trigrams (Huang et al. 2013, DSSM): a word is wrapped
 * as "#word#" and cut into its letter trigrams, "good" -> #go goo ood od#; a word of L letters
 * has L of them. Each trigram goes to a bucket, FNV-1a (64-bit) of its 3 bytes modulo the
 * number of buckets:
 *   h = 14695981039346656037; for each byte c: h = (h xor c) * 1099511628211;  id = h mod buckets
 * so a model sees a word as the bag of its trigrams' buckets (embedding_bag sums their rows),
 * and words never seen in training, misspellings and inflections share most of their trigrams
 * with known words. Letters are bytes (a UTF-8 letter is more than one). */
#include "../core/internal.h"
#include <string.h>

int glia_word_trigrams(const char *word, int buckets, int32_t *ids, int k) {
    if (!word || buckets < 1 || k < 0 || (k > 0 && !ids)) {
        glia__err(GLIA_EINVAL, "glia_word_trigrams: needs a word, buckets >= 1 and k >= 0 ids "
                  "(got buckets %d, k %d)", buckets, k);
        return -1;
    }
    size_t L = strlen(word);
    int n = 0;
    /* trigram i is letters i, i+1, i+2 of "#word#"; a word with more than k trigrams keeps its
     * first k (the start of a word: its stem rather than its ending) */
    for (size_t i = 0; i < L && n < k; i++, n++) {
        uint64_t h = 14695981039346656037ULL;
        for (size_t j = i; j < i + 3; j++) {
            unsigned char c = j == 0 || j == L + 1 ? '#' : (unsigned char)word[j - 1];
            h = (h ^ c) * 1099511628211ULL;
        }
        ids[n] = (int32_t)(h % (uint64_t)buckets);
    }
    for (int i = n; i < k; i++) ids[i] = -1;
    return n;
}
