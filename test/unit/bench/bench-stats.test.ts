import { describe, expect, it } from 'vitest';
import { max, median, percentile, round2 } from '../../../bench/bench-stats.js';
import { rotate } from '../../../bench/warm-polls.js';

describe('Function: median()', () => {
  it('is the middle value of an odd count, whatever the order', () => {
    expect(median([9, 1, 5, 3, 7])).toBe(5);
  });

  it('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('leaves its input as it was', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('refuses no values', () => {
    expect(() => median([])).toThrow(/no values/);
  });
});

describe('Function: percentile()', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);

  it('takes the nearest rank: a value that was measured', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 90)).toBe(90);
    expect(percentile([10, 20, 30], 50)).toBe(20);
  });

  it('is the smallest at 0 and the largest at 100', () => {
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile(hundred, 100)).toBe(100);
  });

  it('refuses a percentile outside 0..100 and no values', () => {
    expect(() => percentile(hundred, 101)).toThrow(/0\.\.100/);
    expect(() => percentile(hundred, Number.NaN)).toThrow(/0\.\.100/);
    expect(() => percentile([], 50)).toThrow(/no values/);
  });
});

describe('Function: max() and round2()', () => {
  it('max is the largest value', () => {
    expect(max([2, 9.5, 3])).toBe(9.5);
    expect(() => max([])).toThrow(/no values/);
  });

  it('round2 keeps two decimals', () => {
    expect(round2(1.23456)).toBe(1.23);
    expect(round2(7)).toBe(7);
  });
});

describe('Function: rotate()', () => {
  it('turns the list left, wrapping around, so each subject takes its turn first', () => {
    const subjects = ['poll', 'reference', 'floor'];
    expect(rotate(subjects, 0)).toEqual(subjects);
    expect(rotate(subjects, 1)).toEqual(['reference', 'floor', 'poll']);
    expect(rotate(subjects, 4)).toEqual(['reference', 'floor', 'poll']);
    expect(rotate(subjects, -1)).toEqual(['floor', 'poll', 'reference']);
  });
});
