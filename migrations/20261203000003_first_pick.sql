-- Position bias without reading every ranking's JSON per scorecard: computed once per write.
-- n (the number of answers shown) when the sole first place is the answer shown first, -n
-- when it is not; NULL without a ranking or with fewer than two answers shown.
ALTER TABLE annotations ADD COLUMN first_pick smallint GENERATED ALWAYS AS (
    CASE WHEN ranking IS NULL OR coalesce(array_length(shown_order, 1), 0) < 2 THEN NULL
         WHEN jsonb_array_length(ranking -> 0) = 1 AND ranking -> 0 ->> 0 = shown_order[1]::text
             THEN array_length(shown_order, 1)
         ELSE -array_length(shown_order, 1)
    END) STORED;
