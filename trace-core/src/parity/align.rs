//! Pairing the items of two sequences for comparison.
//!
//! Equal lengths pair by position, so that a reordering shows as a kind mismatch at the
//! positions involved. Unequal lengths are aligned on a key (longest common subsequence
//! after trimming the common prefix and suffix), so that one missing item is reported as
//! missing rather than as every later item differing.

/// Above this many cells the middle part is paired by position instead of aligned.
const MAX_ALIGNMENT_CELLS: usize = 4_000_000;

/// One step of an alignment: both sides, or one side only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pairing {
    Both(usize, usize),
    OnlyLeft(usize),
    OnlyRight(usize),
}

pub(crate) fn align<K: PartialEq>(left: &[K], right: &[K]) -> Vec<Pairing> {
    if left.len() == right.len() {
        return (0..left.len()).map(|i| Pairing::Both(i, i)).collect();
    }
    let prefix = left.iter().zip(right).take_while(|(l, r)| l == r).count();
    let suffix = left[prefix..]
        .iter()
        .rev()
        .zip(right[prefix..].iter().rev())
        .take_while(|(l, r)| l == r)
        .count();
    let mut pairs: Vec<Pairing> = (0..prefix).map(|i| Pairing::Both(i, i)).collect();
    let left_mid = prefix..left.len() - suffix;
    let right_mid = prefix..right.len() - suffix;
    pairs.extend(align_middle(&left[left_mid.clone()], &right[right_mid.clone()], prefix));
    pairs.extend((0..suffix).map(|k| Pairing::Both(left_mid.end + k, right_mid.end + k)));
    pairs
}

fn align_middle<K: PartialEq>(left: &[K], right: &[K], offset: usize) -> Vec<Pairing> {
    let (n, m) = (left.len(), right.len());
    if n.saturating_mul(m) > MAX_ALIGNMENT_CELLS {
        let mut pairs: Vec<Pairing> = (0..n.min(m)).map(|i| Pairing::Both(offset + i, offset + i)).collect();
        pairs.extend((m..n).map(|i| Pairing::OnlyLeft(offset + i)));
        pairs.extend((n..m).map(|j| Pairing::OnlyRight(offset + j)));
        return pairs;
    }
    // lcs[i][j]: length of the longest common subsequence of left[i..] and right[j..].
    let width = m + 1;
    let mut lcs = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if left[i] == right[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut pairs = Vec::with_capacity(n.max(m));
    while i < n && j < m {
        if left[i] == right[j] {
            pairs.push(Pairing::Both(offset + i, offset + j));
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            pairs.push(Pairing::OnlyLeft(offset + i));
            i += 1;
        } else {
            pairs.push(Pairing::OnlyRight(offset + j));
            j += 1;
        }
    }
    pairs.extend((i..n).map(|i| Pairing::OnlyLeft(offset + i)));
    pairs.extend((j..m).map(|j| Pairing::OnlyRight(offset + j)));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_lengths_pair_by_position_even_when_reordered() {
        assert_eq!(
            align(&["a", "b"], &["b", "a"]),
            vec![Pairing::Both(0, 0), Pairing::Both(1, 1)]
        );
    }

    #[test]
    fn one_missing_item_in_the_middle_is_reported_as_missing() {
        let pairs = align(&["a", "b", "c", "d"], &["a", "c", "d"]);
        assert_eq!(
            pairs,
            vec![
                Pairing::Both(0, 0),
                Pairing::OnlyLeft(1),
                Pairing::Both(2, 1),
                Pairing::Both(3, 2)
            ]
        );
    }

    #[test]
    fn an_extra_item_among_repeats_is_found() {
        let pairs = align(&["x", "y", "x", "y"], &["x", "y", "z", "x", "y"]);
        assert_eq!(pairs.iter().filter(|p| matches!(p, Pairing::OnlyRight(2))).count(), 1);
        assert_eq!(pairs.iter().filter(|p| matches!(p, Pairing::Both(..))).count(), 4);
    }
}
